"""Request Tracker 5's closed knowledge base, portal users and SLA alerts, over REST 2.

- The lever: membership of a group (`options.kb_group`, by name or id) that holds the rights on
  the closed Articles class (webhooks/rt5/initialdata creates both). Members are user ids:
  `GET /group/:id/members` (paged until an empty page: RT gives no page count to non-superusers),
  `PUT /group/:id/members` with principal ids (answers 200 with "Member added: ..." or "Group
  already has member: ..."), `DELETE /group/:id/member/:uid` (204, also for a non-member).
- A portal user is an unprivileged RT user (`POST /user`; the numeric id is in `Location`),
  its `Organization` the customer's name; RT has no organisations to place it in beyond that.
- Alerts: an internal comment (RT has no tags: they go into its text) and optionally the priority
  (a number 0..99, or low / medium / high as RT's default PriorityAsString names them).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import quote

from connector.core.errors import BadInput, PlatformRejected
from connector.core.kb_access import GRANT, REVOKE, AccessChange
from connector.platforms.base import AccessOutcome, Alert
from connector.platforms.client import PlatformClient

MAX_PAGES = 10_000  # 100 members a page: a million holders
USER_TTL = 300.0
PRIORITIES = {"low": 0, "normal": 50, "medium": 50, "high": 100, "urgent": 100, "critical": 100}


class Rt5Directory:
    """Users and the closed-KB group over one REST 2 client. Users are cached for `USER_TTL`
    seconds: every RT request costs a bcrypt check of the token (about 0.3 s), and an event
    names the same few users again and again; a user made privileged shows within the TTL."""

    def __init__(
        self, client: PlatformClient, options: Mapping[str, Any], clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.client, self.options, self.clock = client, options, clock
        self.users: dict[str, tuple[float, Mapping[str, Any]]] = {}
        self._group: str | None = None

    def user(self, name_or_id: str) -> Mapping[str, Any]:
        """One user (`GET /user/:name`), cached; {} when there is none."""
        key = str(name_or_id)
        cached = self.users.get(key)
        if cached is None or self.clock() - cached[0] > USER_TTL:
            try:
                found = self.client.call("GET", f"/user/{_path(key)}") or {}
            except PlatformRejected as exc:
                if exc.status != 404:
                    raise
                found = {}
            self.users[key] = cached = (self.clock(), found)
        return cached[1]

    def find(self, email: str) -> Mapping[str, Any] | None:
        """The user whose e-mail address this is (a JSON search), or None."""
        email = email.strip().lower()
        answer = (
            self.client.call(
                "POST", "/users?fields=Name,EmailAddress,RealName,Disabled", [{"field": "EmailAddress", "value": email}]
            )
            or {}
        )
        for item in answer.get("items") or []:
            if str(item.get("EmailAddress") or "").strip().lower() == email:
                return item
        return None

    def name_of(self, email: str) -> str | None:
        """The RT user name of an e-mail address (for Owner), or None when RT has no such user."""
        found = self.find(email)
        return str(found.get("Name") or found.get("id")) if found else None

    def create(self, email: str, name: str | None, organisation: str | None) -> int:
        """A new unprivileged user for `email`; its numeric id."""
        body = {"Name": email, "EmailAddress": email, "Privileged": 0}
        if name:
            body["RealName"] = name
        if organisation:
            body["Organization"] = organisation
        self.client.call("POST", "/user", body, expect=(201,))
        return self.numeric_id(email)

    def numeric_id(self, name: str) -> int:
        """A user's numeric id (RT references users by name elsewhere)."""
        self.users.pop(name, None)
        user = self.user(name)
        if not isinstance(user.get("id"), int):
            raise PlatformRejected(f"RT has no user {name!r}")
        return user["id"]

    def group(self) -> str:
        """The closed-KB group's id (options.kb_group: an id, or a name found by search)."""
        if self._group is None:
            wanted = str(self.options.get("kb_group") or "").strip()
            if not wanted:
                raise BadInput("set options.kb_group to the closed-KB group", "platforms.rt5.options.kb_group")
            if wanted.isdigit():
                self._group = wanted
            else:
                answer = self.client.call("POST", "/groups", [{"field": "Name", "value": wanted}]) or {}
                ids = [str(i.get("id")) for i in answer.get("items") or []]
                if len(ids) != 1:
                    raise PlatformRejected(
                        f"RT has {len(ids)} groups named {wanted!r} (want exactly one; see webhooks/rt5/README.md)"
                    )
                self._group = ids[0]
        return self._group

    def members(self) -> list[int]:
        """The group's member user ids (every page)."""
        found: list[int] = []
        for page in range(1, MAX_PAGES + 1):
            answer = self.client.call("GET", f"/group/{self.group()}/members?groups=0&per_page=100&page={page}") or {}
            items = answer.get("items") or []
            found += [int(i["id"]) for i in items if str(i.get("id", "")).isdigit()]
            if not items:
                return found
        raise PlatformRejected(f"RT group {self.group()} has more than {MAX_PAGES * 100:,} members; stopped reading")


def kb_holders(directory: Rt5Directory) -> set[str]:
    """Lower-case e-mails of the closed-KB group's members."""
    emails = set()
    for uid in directory.members():
        email = str(directory.user(str(uid)).get("EmailAddress") or "").strip().lower()
        if email:
            emails.add(email)
    return emails


def apply_access(directory: Rt5Directory, changes: Sequence[AccessChange]) -> Iterator[AccessOutcome]:
    """Grants (the user created when RT has none) and revokes, one outcome per change; idempotent."""
    members = set(directory.members())
    for change in changes:
        if change.action not in (GRANT, REVOKE):
            raise BadInput(f"rt5: apply_access takes grant and revoke, not {change.action!r}")
        email = change.email.strip().lower()
        found = directory.find(email)
        if change.action == REVOKE:
            if found is None:
                yield AccessOutcome(change, True, "already: not an RT user")
                continue
            uid = directory.numeric_id(str(found.get("Name") or found.get("id")))
            if uid not in members:
                yield AccessOutcome(change, True, "already")
                continue
            directory.client.call("DELETE", f"/group/{directory.group()}/member/{uid}", expect=(200, 204))
            members.discard(uid)
            yield AccessOutcome(change, True, "revoked")
            continue
        created = found is None
        uid = (
            directory.create(email, None, None)
            if created
            else directory.numeric_id(str(found.get("Name") or found.get("id")))  # type: ignore[union-attr]
        )
        if uid in members:
            yield AccessOutcome(change, True, "already")
            continue
        said = directory.client.call("PUT", f"/group/{directory.group()}/members", [uid]) or []
        ok = any(str(m).startswith(("Member added", "Group already has member")) for m in said)
        if ok:
            members.add(uid)
        yield AccessOutcome(
            change,
            ok,
            ("created and granted" if created else "granted")
            if ok
            else f"RT said: {'; '.join(map(str, said)) or 'nothing'}",
        )


def register_portal_user(directory: Rt5Directory, email: str, name: str | None, customer_name: str) -> str | None:
    """Make sure `email` is an RT user (unprivileged: self-service); None when it was one already."""
    email = email.strip().lower()
    if directory.find(email) is not None:
        return None
    uid = directory.create(email, name, customer_name)
    return f"created unprivileged RT user {email} (id {uid}, organisation {customer_name!r})"


def priority_value(priority: str) -> int:
    """An RT priority: a number 0..99, or low / medium / high (RT's default names)."""
    value = str(priority).strip().lower()
    if value.isdigit() and 0 <= int(value) <= 99:
        return int(value)
    if value in PRIORITIES:
        return PRIORITIES[value]
    raise BadInput(f"rt5 priority {priority!r}: use 0..99 or low, medium, high", "alerts.points.priority")


def alert(client: PlatformClient, alert_: Alert) -> bool:
    """The priority (when asked) then the internal comment with the note and the tags."""
    if not str(alert_.ticket_id).isdigit():
        raise BadInput(f"not an RT ticket id: {alert_.ticket_id!r}")
    wrote = False
    if alert_.priority:
        client.call("PUT", f"/ticket/{alert_.ticket_id}", {"Priority": priority_value(alert_.priority)})
        wrote = True
    note = alert_.note_with_tags()
    if note:
        client.call(
            "POST",
            f"/ticket/{alert_.ticket_id}/comment",
            {"Content": note, "ContentType": "text/plain"},
            expect=(201,),
        )
        wrote = True
    return wrote


def _path(value: str) -> str:
    """A user name as a URL path segment (names are often e-mail addresses)."""
    return quote(value, safe="@")
