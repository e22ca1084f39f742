"""Jira Service Management's closed knowledge base, portal registration and SLA alerts.

The KB lever. JSM cannot restrict knowledge-base articles to some customers (Atlassian's open
request JSDCLOUD-8006). The documented workaround is a Confluence space restricted to a group,
whose members must be Atlassian accounts: the lever is membership of that group
(`options.kb_group_id`). Portal-only customer accounts (`accountType: customer`) always see every
article the portal shows to logged-in customers; Confluence restrictions do not apply to them,
so a grant for one is a failure that says so, never a silent success.
https://confluence.atlassian.com/jirakb/restricting-knowledge-base-articles-to-a-group-of-customers-1224782654.html
- members: GET /rest/api/3/group/member?groupId= (pages of 50, `isLast`), their `emailAddress`;
- an account by e-mail: GET /rest/api/3/user/search?query= (exact e-mail match);
- membership: GET /rest/api/3/user?accountId=&expand=groups; add POST /rest/api/3/group/user?groupId=
  `{"accountId"}` (201); remove DELETE /rest/api/3/group/user?groupId=&accountId= (200).

Portal registration (`options.service_desk_id`): the requester becomes a customer of the service
desk and a member of the customer's organisation (the registry's id, else the organisation of the
customer's name, which `POST /rest/servicedeskapi/organization` returns when it exists already).
https://developer.atlassian.com/cloud/jira/service-desk/rest/api-group-customer/,
.../api-group-servicedesk/ (customers of a service desk), .../api-group-organization/.

Every request goes through the paced API (Retry-After waited out, 5xx retried).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

from connector.core.errors import BadInput, PlatformError, PlatformRejected
from connector.core.kb_access import GRANT, REVOKE, AccessChange
from connector.platforms.base import AccessOutcome, Alert
from connector.platforms.client import PlatformClient
from connector.platforms.jira_service_management.reading import issue_key
from connector.platforms.jira_service_management.writing import alert_body, note_body
from connector.platforms.pacing import PacedApi

log = logging.getLogger(__name__)
PAGE = 50
MAX_PAGES = 2000  # 100,000 members


class JsmAccess:
    """The group lever, portal registration and alerts over one paced API."""

    def __init__(self, api: PacedApi | PlatformClient, options: Mapping[str, Any]) -> None:
        self.api, self.options = api, options
        self.group = str(options.get("kb_group_id") or "")
        self.service_desk = str(options.get("service_desk_id") or "")

    # -- the KB group ------------------------------------------------------------------------

    def holders(self) -> set[str]:
        """Lower-case e-mails of the KB group's members (members whose e-mail Jira hides cannot be
        matched to the registry: they are counted in a warning)."""
        found, hidden = set(), 0
        for start in range(0, PAGE * MAX_PAGES, PAGE):
            query = urlencode({"groupId": self.group, "startAt": start, "maxResults": PAGE})
            page = self.api.call("GET", f"/rest/api/3/group/member?{query}") or {}
            for user in page.get("values") or []:
                email = str(user.get("emailAddress") or "").strip().lower()
                if email:
                    found.add(email)
                else:
                    hidden += 1
            if page.get("isLast", True) or not page.get("values"):
                break
        if hidden:
            log.warning(
                "jira-service-management: %d member(s) of group %s hide their e-mail address; the"
                " sync cannot match them to the registry",
                hidden,
                self.group,
            )
        return found

    def apply(self, changes: Sequence[AccessChange]) -> Iterator[AccessOutcome]:
        """Grants and revokes one by one (Jira has no bulk membership call); a refused change is a
        failed outcome, a platform outage (after the patient retries) stops the run."""
        for change in changes:
            if change.action not in (GRANT, REVOKE):
                yield AccessOutcome(change, False, f"{change.action} is not a KB change")
                continue
            try:
                yield self._one(change)
            except PlatformRejected as exc:
                yield AccessOutcome(change, False, str(exc))

    def _one(self, change: AccessChange) -> AccessOutcome:
        """One grant or revoke: the account by e-mail, its membership now, the change if needed."""
        email = change.email.strip().lower()
        account = self.account(email)
        if account is None:
            if change.action == REVOKE:
                return AccessOutcome(change, True, "already: no Jira account has this e-mail")
            return AccessOutcome(
                change,
                False,
                "no Atlassian account has this e-mail: the closed space is"
                " restricted to Atlassian accounts (invite the customer)",
            )
        if account.get("accountType") == "customer" and change.action == GRANT:
            return AccessOutcome(
                change,
                False,
                "a portal-only customer account: Confluence restrictions do not"
                " apply to it, it sees the knowledge base as every portal customer"
                " does (migrate it to an Atlassian account)",
            )
        account_id = str(account["accountId"])
        if self.is_member(account_id) == (change.action == GRANT):
            return AccessOutcome(change, True, "already")
        if change.action == GRANT:
            self.api.call(
                "POST",
                f"/rest/api/3/group/user?{urlencode({'groupId': self.group})}",
                {"accountId": account_id},
                expect=(200, 201),
            )
            return AccessOutcome(change, True, "granted")
        query = urlencode({"groupId": self.group, "accountId": account_id})
        self.api.call("DELETE", f"/rest/api/3/group/user?{query}", expect=(200, 204))
        return AccessOutcome(change, True, "revoked")

    def account(self, email: str) -> Mapping[str, Any] | None:
        """The account whose e-mail is `email` (the search matches prefixes: compare exactly)."""
        users = self.api.call("GET", f"/rest/api/3/user/search?{urlencode({'query': email})}") or []
        for user in users if isinstance(users, list) else []:
            if str(user.get("emailAddress") or "").strip().lower() == email and user.get("accountId"):
                return user
        return None

    def is_member(self, account_id: str) -> bool:
        """Whether the account is in the KB group now."""
        user = self.api.call("GET", f"/rest/api/3/user?{urlencode({'accountId': account_id, 'expand': 'groups'})}")
        groups = ((user or {}).get("groups") or {}).get("items") or []
        return any(str(g.get("groupId")) == self.group for g in groups)

    # -- portal registration -----------------------------------------------------------------

    def register(
        self, email: str, name: str | None, customer_id: str, customer_name: str, org_id: str | None
    ) -> str | None:
        """Make `email` a customer of the service desk, in the customer's organisation."""
        email = email.strip().lower()
        if "@" not in email:
            raise BadInput(f"not an e-mail address: {email!r}")
        desk, done = self.service_desk, []
        account_id = self._desk_customer(email)
        if account_id is None:
            known = self.account(email)
            if known is None:
                created = (
                    self.api.call(
                        "POST",
                        "/rest/servicedeskapi/customer",
                        {"email": email, "displayName": (name or "").strip() or email.split("@")[0]},
                        expect=(200, 201),
                    )
                    or {}
                )
                known = created
                done.append(f"created customer {email}")
            account_id = str(known.get("accountId") or "")
            if not account_id:
                raise PlatformError("POST /rest/servicedeskapi/customer: no accountId in the answer")
            self.api.call(
                "POST",
                f"/rest/servicedeskapi/servicedesk/{desk}/customer",
                {"accountIds": [account_id]},
                expect=(200, 204),
            )
            done.append(f"added {email} to service desk {desk}")
        org = str(org_id) if org_id and str(org_id).isdigit() else self._organisation(customer_name, done)
        member_of = self.api.call("GET", f"/rest/servicedeskapi/organization?{urlencode({'accountId': account_id})}")
        if any(str(o.get("id")) == org for o in (member_of or {}).get("values") or []):
            return "; ".join(done) or None
        self.api.call(
            "POST", f"/rest/servicedeskapi/organization/{org}/user", {"accountIds": [account_id]}, expect=(200, 204)
        )
        done.append(f"added {email} to organisation {org}")
        return "; ".join(done)

    def _desk_customer(self, email: str) -> str | None:
        """The accountId of the service desk's customer with this e-mail, if it has one."""
        query = urlencode({"query": email})
        page = self.api.call("GET", f"/rest/servicedeskapi/servicedesk/{self.service_desk}/customer?{query}") or {}
        for user in page.get("values") or []:
            if str(user.get("emailAddress") or "").strip().lower() == email and user.get("accountId"):
                return str(user["accountId"])
        return None

    def _organisation(self, customer_name: str, done: list[str]) -> str:
        """The organisation named after the customer (created, or the existing one of that name),
        on the service desk."""
        org = (
            self.api.call("POST", "/rest/servicedeskapi/organization", {"name": customer_name}, expect=(200, 201)) or {}
        )
        org_id = str(org.get("id") or "")
        if not org_id.isdigit():
            raise PlatformError("POST /rest/servicedeskapi/organization: no organisation id in the answer")
        self.api.call(
            "POST",
            f"/rest/servicedeskapi/servicedesk/{self.service_desk}/organization",
            {"organizationId": int(org_id)},
            expect=(200, 204),
        )
        done.append(f"organisation {org_id} ({customer_name}) on service desk {self.service_desk}")
        return org_id

    # -- SLA alerts --------------------------------------------------------------------------

    def alert(self, alert: Alert) -> bool:
        """Labels and the priority in one edit, then the note as an internal comment."""
        key = issue_key(alert.ticket_id)
        body = alert_body(alert)
        if body:
            self.api.call("PUT", f"/rest/api/3/issue/{key}", body, expect=(200, 204))
        if alert.note:
            self.api.call(
                "POST", f"/rest/servicedeskapi/request/{key}/comment", note_body(alert.note), expect=(200, 201)
            )
        return bool(body or alert.note)
