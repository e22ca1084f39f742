"""Zendesk portal registration: the person becomes an end user with a membership in the
customer's organisation (the one the registry names on Zendesk, else one found or created with
`external_id` = the customer id).

Docs: users https://developer.zendesk.com/api-reference/ticketing/users/users/ (Create Or Update
User), organizations https://developer.zendesk.com/api-reference/ticketing/organizations/organizations/
(Search Organizations by external_id or by name, Create Or Update Organization) and memberships
https://developer.zendesk.com/api-reference/ticketing/organizations/organization_memberships/
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from urllib.parse import urlencode

from connector.core.errors import BadInput, PlatformError, PlatformRejected
from connector.platforms.pacing import PacedApi


class ZendeskPortal:
    """Registration over the paced API; `lookup` finds user ids by e-mail (the KB lever's)."""

    def __init__(self, api: PacedApi, lookup: Callable[[Sequence[str]], dict[str, int]]) -> None:
        self.api, self.lookup = api, lookup

    def register(
        self, email: str, name: str | None, customer_id: str, customer_name: str, org_id: str | None
    ) -> str | None:
        """Make `email` an end user with a membership in the customer's organisation."""
        email = email.strip().lower()
        if "@" not in email:
            raise BadInput(f"not an e-mail address: {email!r}")
        done: list[str] = []
        org = int(org_id) if org_id and str(org_id).isdigit() else self._organisation(customer_id, customer_name, done)
        user = self.lookup([email]).get(email)
        if user is None:
            answer = (
                self.api.call(
                    "POST",
                    "/api/v2/users/create_or_update",
                    {
                        "user": {
                            "email": email,
                            "name": (name or "").strip() or email.split("@")[0],
                            "organization_id": org,
                            "skip_verify_email": True,
                        }
                    },
                    expect=(200, 201),
                )
                or {}
            )
            user = (answer.get("user") or {}).get("id")
            done.append(f"registered {email} as user {user}")
            if (answer.get("user") or {}).get("organization_id") == org:
                return "; ".join(done) + f" in organisation {org}"
        memberships = self.api.call("GET", f"/api/v2/users/{user}/organization_memberships") or {}
        if any(m.get("organization_id") == org for m in memberships.get("organization_memberships") or []):
            return "; ".join(done) or None
        try:
            self.api.call(
                "POST",
                "/api/v2/organization_memberships",
                {"organization_membership": {"user_id": user, "organization_id": org}},
                expect=(200, 201),
            )
        except PlatformRejected as exc:
            if not (exc.status == 422 and "already" in str(exc).lower()):
                raise
            return "; ".join(done) or None  # another event of this requester registered them meanwhile
        done.append(f"added {email} (user {user}) to organisation {org}")
        return "; ".join(done)

    def _organisation(self, customer_id: str, customer_name: str, done: list[str]) -> int:
        """The customer's organisation: the one whose external_id is the customer id, else the one
        of the customer's name (an admin made it by hand), else a new one. Zendesk refuses a second
        organisation of a name (422): then the one that took the name meanwhile is it."""
        found = self._search("external_id", customer_id) or self._search("name", customer_name)
        if found is not None:
            return found
        try:
            created = (
                self.api.call(
                    "POST",
                    "/api/v2/organizations/create_or_update",
                    {"organization": {"name": customer_name, "external_id": customer_id}},
                    expect=(200, 201),
                )
                or {}
            )
        except PlatformRejected as exc:
            found = self._search("name", customer_name) if exc.status == 422 else None
            if found is None:
                raise
            return found
        org_id = (created.get("organization") or {}).get("id")
        if not isinstance(org_id, int):
            raise PlatformError("POST /api/v2/organizations/create_or_update: no organization id in the answer")
        done.append(f"created organisation {org_id} for {customer_id}")
        return org_id

    def _search(self, key: str, value: str) -> int | None:
        """The organisation whose `key` (external_id or name) is `value`, compared ignoring case."""
        if not value:
            return None
        answer = self.api.call("GET", f"/api/v2/organizations/search?{urlencode({key: value})}") or {}
        for org in answer.get("organizations") or []:
            if str(org.get(key) or "").strip().lower() == value.strip().lower() and isinstance(org.get("id"), int):
                return org["id"]
        return None
