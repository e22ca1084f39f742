"""Redmine's closed knowledge base, portal users and SLA alerts.

The KB lever is membership of one group (`options.kb_group`, its id), which is a member of the
private KB project with a role that may read it (webhooks/redmine/README.md, steps 6-8; verified
end to end: not in the group, 403 on the KB project; in it, 200; out again, 403):
- holders: `GET /users.json?group_id=G&status=` (paged; e-mails; locked members too);
- grant: `POST /groups/G/users.json {"user_ids": [...]}`, up to 100 at once. Redmine adds those not
  in the group yet and answers 422 when none is new, so members are read first and skipped;
- revoke: `DELETE /groups/G/users/U.json` (204 also for a non-member: idempotent).
A grant for an e-mail without a Redmine user creates one, as portal registration does.

Portal registration = a Redmine user for the contact (`POST /users.json`: login = the e-mail,
unprivileged, a generated password, no account e-mail: the customer uses "Lost password"), and,
with `options.portal_project`, a membership there with `options.portal_role` (default Reporter)
so that they see and open their issues. Redmine has no organisations.

SLA alerts: Redmine has no tags, so an alert is one PUT: a private note carrying the note and the
tags, and the priority (`priority_id`, by the name or id of `GET /enumerations/issue_priorities.json`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from connector.core.errors import BadInput, PlatformRejected
from connector.core.kb_access import GRANT, REVOKE, AccessChange
from connector.platforms.base import AccessOutcome, Alert
from connector.platforms.client import PlatformClient
from connector.platforms.redmine import api
from connector.platforms.redmine.options import DEFAULT_PORTAL_ROLE, WHERE
from connector.platforms.redmine.writing import note_problems

BATCH = 100
LOGIN_LIMIT, NAME_LIMIT = 60, 30  # Redmine 5 (app/models/user.rb)


def group_id(options: Mapping[str, Any]) -> int:
    """The KB group's id (`options.kb_group`)."""
    value = options.get("kb_group")
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise BadInput("set options.kb_group to the id of the KB readers' group", f"{WHERE}.options.kb_group")
    return value


def members(client: PlatformClient, gid: int) -> dict[str, int]:
    """The group's members: lower-case e-mail -> user id."""
    found = {}
    for member in api.pages(client, "/users.json", "users", {"group_id": gid, "status": ""}):
        mail = str(member.get("mail") or "").strip().lower()
        if mail and isinstance(member.get("id"), int):
            found[mail] = member["id"]
    return found


def role_id(client: PlatformClient, role: Any, where: str) -> int:
    """A role's id from its id or its name (`GET /roles.json`)."""
    if isinstance(role, int) or str(role).isdigit():
        return int(role)
    roles = (client.call_patiently("GET", "/roles.json") or {}).get("roles") or []
    for found in roles:
        if str(found.get("name", "")).strip().lower() == str(role).strip().lower():
            return int(found["id"])
    raise BadInput(f"Redmine has no role {role!r} (roles: {', '.join(str(r.get('name')) for r in roles)})", where)


def login_for(email: str) -> str:
    """A Redmine login for a contact: the e-mail, with characters a login may not have as `_`."""
    return re.sub(r"[^a-z0-9_\-@.]", "_", email.strip().lower())[:LOGIN_LIMIT]


def names_for(email: str, name: str | None, family: str | None) -> tuple[str, str]:
    """First and last name (both required by Redmine, at most 30 characters each)."""
    parts = (name or "").split()
    first = parts[0] if parts else email.split("@")[0]
    last = " ".join(parts[1:]) or (family or "").strip() or "-"
    return first[:NAME_LIMIT], last[:NAME_LIMIT]


def create_user(
    client: PlatformClient, options: Mapping[str, Any], email: str, name: str | None, family: str | None
) -> tuple[int, str]:
    """A new unprivileged user for `email` (and its portal membership); (id, what was done)."""
    email = email.strip().lower()
    first, last = names_for(email, name, family)
    login = login_for(email)
    body = {
        "user": {"login": login, "firstname": first, "lastname": last, "mail": email, "generate_password": True},
        "send_information": False,
    }
    created = api.write(client, "POST", "/users.json", body, f"a user for {email}") or {}
    uid = (created.get("user") or {}).get("id")
    if not isinstance(uid, int):
        raise PlatformRejected("POST /users.json: no user id in the answer")
    done = f"created Redmine user {login} (id {uid})"
    project = options.get("portal_project")
    if project:
        role = options.get("portal_role") or DEFAULT_PORTAL_ROLE
        rid = role_id(client, role, f"{WHERE}.options.portal_role")
        api.write(
            client,
            "POST",
            f"/projects/{project}/memberships.json",
            {"membership": {"user_id": uid, "role_ids": [rid]}},
            f"the membership of {email} in {project}",
        )
        done += f", a member of {project} as {role}"
    return uid, done


def register_portal_user(
    client: PlatformClient, options: Mapping[str, Any], email: str, name: str | None, customer_name: str
) -> str | None:
    """Make sure `email` has a Redmine user; what was done, or None if there was one."""
    if "@" not in email:
        raise BadInput(f"not an e-mail address: {email!r}")
    if api.user_by_email(client, email, patiently=True) is not None:
        return None
    _, done = create_user(client, options, email, name, customer_name)
    return f"{done}; Redmine has no organisations, so it is not placed in {customer_name or 'the customer'}"


def apply_access(
    client: PlatformClient, options: Mapping[str, Any], changes: Sequence[AccessChange]
) -> Iterator[AccessOutcome]:
    """Grants and revokes, one outcome per change, yielded as each batch of 100 completes."""
    for change in changes:
        if change.action not in (GRANT, REVOKE):
            raise BadInput(f"redmine: apply_access takes grant and revoke, not {change.action!r}")
    gid = group_id(options)
    holding = members(client, gid)
    for start in range(0, len(changes), BATCH):
        yield from _batch(client, options, gid, holding, list(changes[start : start + BATCH]))


def _batch(
    client: PlatformClient, options: Mapping[str, Any], gid: int, holding: dict[str, int], batch: list[AccessChange]
) -> Iterator[AccessOutcome]:
    """One batch: revokes one by one, grants in one POST; `holding` follows what was done."""
    outcomes: dict[int, AccessOutcome] = {}
    adding: dict[int, list[int]] = {}  # user id -> indexes of the grants it settles
    for i, change in enumerate(batch):
        email = change.email.strip().lower()
        if change.action == REVOKE:
            uid = holding.get(email)
            if uid is not None:
                client.call_patiently("DELETE", f"/groups/{gid}/users/{uid}.json", expect=(200, 204, 404))
                holding.pop(email, None)
            outcomes[i] = AccessOutcome(change, True, "removed from the KB group" if uid else "already")
        elif email in holding:
            outcomes[i] = AccessOutcome(change, True, "already")
        else:
            try:
                found = api.user_by_email(client, email, patiently=True)
                uid = found["id"] if found else create_user(client, options, email, None, change.customer)[0]
            except PlatformRejected as exc:
                outcomes[i] = AccessOutcome(change, False, str(exc))
                continue
            adding.setdefault(uid, []).append(i)
    if adding:
        try:
            api.write(
                client,
                "POST",
                f"/groups/{gid}/users.json",
                {"user_ids": sorted(adding)},
                f"adding {len(adding)} user(s) to group {gid}",
            )
            ok, detail = True, "added to the KB group"
        except PlatformRejected as exc:
            ok, detail = False, str(exc)
        for uid, indexes in adding.items():
            for i in indexes:
                outcomes[i] = AccessOutcome(batch[i], ok, detail)
                if ok:
                    holding[batch[i].email.strip().lower()] = uid
    yield from (outcomes[i] for i in range(len(batch)))


def priority_id(client: PlatformClient, priority: str) -> int:
    """A priority's id from its name (any case; `very_high` for "Very high") or id."""
    wanted = str(priority).strip().lower().replace("_", " ")
    listed = (client.call("GET", "/enumerations/issue_priorities.json") or {}).get("issue_priorities") or []
    for found in listed:
        if str(found.get("id")) == wanted or str(found.get("name", "")).strip().lower() == wanted:
            return int(found["id"])
    raise BadInput(
        f"Redmine has no issue priority {priority!r} (priorities: {', '.join(str(p.get('name')) for p in listed)})",
        "alerts.points.priority",
    )


def alert(client: PlatformClient, alert_: Alert) -> bool:
    """One PUT: the private note (with the tags) and the priority; then read back."""
    if not str(alert_.ticket_id).isdigit():
        raise BadInput(f"not a Redmine issue id: {alert_.ticket_id!r}")
    issue: dict[str, Any] = {}
    note = alert_.note_with_tags()
    if note:
        issue.update(notes=note, private_notes=True)
    if alert_.priority:
        issue["priority_id"] = priority_id(client, alert_.priority)
    if not issue:
        return False
    path = f"/issues/{alert_.ticket_id}.json"
    api.write(client, "PUT", path, {"issue": issue}, f"the SLA alert on issue {alert_.ticket_id}")
    after = (client.call("GET", f"{path}?include=journals") or {}).get("issue") or {}
    problems = note_problems(after.get("journals") or [], note, 0) if note else []
    if "priority_id" in issue and (after.get("priority") or {}).get("id") != issue["priority_id"]:
        problems.append(f"the priority reads back {(after.get('priority') or {}).get('name')!r}")
    if problems:
        raise PlatformRejected(
            f"issue {alert_.ticket_id}: the SLA alert does not read back as written: " + "; ".join(problems)
        )
    return True
