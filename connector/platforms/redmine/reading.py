"""A Redmine 5 issue as its REST API shows it to an administrator (`GET /issues/N.json?include=journals`)
and the users it names (`GET /users/N.json?include=memberships`) -> the domain `Ticket`. Pure.

Facts of Redmine 5.0.4 this relies on (read in its source, checked against a real instance; the
engineer's notes are in tests/fixtures/redmine/README.md):
- The requester is the issue's author; the request itself is its description (the opening).
- Comments are the journals with non-empty `notes` (`""` or null for change-only journals),
  public unless `private_notes`. `journals[].user` is `{id, name}` only, so each author's login,
  admin flag and memberships come from the users API.
- Who wrote a note: the connector's own user (by login, `options.connector_login`), the issue's
  author (the requester), staff (an administrator, or a member of the issue's project with one of
  `options.staff_roles`, inherited through a group too), or someone else (a colleague of the
  customer: an end user). A user the API no longer has (deleted: Redmine shows "Anonymous") is
  an end user.
- Status changes are journal details `{"property": "attr", "name": "status_id"}` with ids as
  strings; the status at creation is the first change's `old_value` (else the status now).
- Custom field values are strings (`""` or null when empty; a multiple field gives a list).
  `custom_fields` lists only the fields enabled for the issue's project and tracker.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from connector.core.entitlement import CHANNELS, REQUEST_TYPES, TOPICS
from connector.core.errors import PlatformRejected
from connector.core.ticket import Author, Carried, Comment, StatusAt, Ticket, TicketStatus
from connector.platforms.redmine.options import (
    PLATFORM,
    READ,
    WRITTEN,
    connector_login,
    field_ids,
    staff_roles,
    status_map,
)


@dataclass(frozen=True)
class RedmineTicket(Ticket):
    """The domain ticket, with what the write-back needs of the issue as it was read."""

    project_id: int | None = None
    start_date: date | None = None
    due_date: str | None = None
    assignee_id: int | None = None
    last_journal_id: int = 0
    custom_field_ids: frozenset[int] = frozenset()
    values: Mapping[int, Any] = field(default_factory=dict)  # custom field id -> value as read


def api_moment(value: Any, what: str) -> datetime:
    """A timestamp Redmine always sends (`2026-12-01T09:52:12Z`) as an aware datetime."""
    parsed = parse_moment(value)
    if parsed is None:
        raise PlatformRejected(f"Redmine answer has no readable {what}: {str(value)[:40]!r}")
    return parsed


def parse_moment(value: Any) -> datetime | None:
    """An ISO 8601 moment with an offset; None for empty, unreadable or naive text (an agent may
    have typed anything into a text field: it is overwritten rather than failed on)."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.utcoffset() is not None else None


def text(value: Any) -> str | None:
    """A custom field's value as stripped text; None when empty (a list gives its first value)."""
    if isinstance(value, list):
        value = next((v for v in value if v not in (None, "")), None)
    if value is None:
        return None
    value = str(value).strip()
    return value or None


def custom_values(issue: Mapping[str, Any]) -> dict[int, Any]:
    """The issue's custom field values by id (only the fields enabled for it appear)."""
    return {
        int(f["id"]): f.get("value")
        for f in issue.get("custom_fields") or []
        if isinstance(f, dict) and str(f.get("id", "")).isdigit()
    }


def vocabulary(value: Any, allowed: Iterable[str]) -> str | None:
    """A list value as our word: `Information`, `information request` or `rt_information`."""
    word = (text(value) or "").lower().replace("-", "_").replace(" ", "_")
    for known in allowed:
        if word == known or word.startswith(known + "_") or word.endswith("_" + known):
            return known
    return None


def comment_journals(issue: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The journals with notes, in time order."""
    journals = sorted(issue.get("journals") or [], key=lambda j: (str(j.get("created_on", "")), j.get("id", 0)))
    return [j for j in journals if isinstance(j.get("notes"), str) and j["notes"].strip()]


def users_to_read(issue: Mapping[str, Any]) -> list[int]:
    """Whose accounts the reading needs: the author, each note's writer, the assignee."""
    wanted = [(issue.get("author") or {}).get("id"), (issue.get("assigned_to") or {}).get("id")]
    wanted += [(j.get("user") or {}).get("id") for j in comment_journals(issue)]
    return list(dict.fromkeys(u for u in wanted if isinstance(u, int)))


def is_staff(user: Mapping[str, Any] | None, project_id: Any, options: Mapping[str, Any]) -> bool:
    """An administrator, or a member of the project with a staff role (direct or inherited)."""
    if not user:
        return False
    if user.get("admin") is True:
        return True
    ids, names = staff_roles(options)
    for membership in user.get("memberships") or []:
        if (membership.get("project") or {}).get("id") != project_id:
            continue
        for role in membership.get("roles") or []:
            if role.get("id") in ids or str(role.get("name", "")).strip().lower() in names:
                return True
    return False


def _user(users: Mapping[int, Any], user_id: Any) -> Any:
    """The user with this id as read, else an empty one (no id, or not read)."""
    return (users.get(user_id) if isinstance(user_id, int) else None) or {}


def author_of(user_id: Any, issue: Mapping[str, Any], users: Mapping[int, Any], options: Mapping[str, Any]) -> Author:
    """Who wrote a note, as the domain names it."""
    user = users.get(user_id) if isinstance(user_id, int) else None
    if user and str(user.get("login", "")).lower() == connector_login(options):
        return Author.CONNECTOR
    if user_id == (issue.get("author") or {}).get("id"):
        return Author.REQUESTER
    if is_staff(user, (issue.get("project") or {}).get("id"), options):
        return Author.AGENT
    return Author.END_USER


def status_of(status_id: Any, statuses: Mapping[int, TicketStatus], current: Mapping[str, Any]) -> TicketStatus:
    """A status id as a common status; an unmapped one by Redmine's own `is_closed` when it is the
    current status, else open (the vendor's clock keeps running)."""
    try:
        sid = int(status_id)
    except (TypeError, ValueError):
        return TicketStatus.OPEN
    if sid in statuses:
        return statuses[sid]
    if sid == current.get("id") and current.get("is_closed") is True:
        return TicketStatus.CLOSED
    return TicketStatus.OPEN


def status_history(issue: Mapping[str, Any], created: datetime, options: Mapping[str, Any]) -> list[StatusAt]:
    """The status at creation, then every change, from the journals' status_id details."""
    statuses, current = status_map(options), issue.get("status") or {}
    journals = sorted(issue.get("journals") or [], key=lambda j: (str(j.get("created_on", "")), j.get("id", 0)))
    changes = [
        (api_moment(j.get("created_on"), f"journal {j.get('id')} created_on"), d)
        for j in journals
        for d in j.get("details") or []
        if d.get("property") == "attr" and d.get("name") == "status_id"
    ]
    first = changes[0][1].get("old_value") if changes else current.get("id")
    history = [StatusAt(created, status_of(first, statuses, current))]
    history += [StatusAt(at, status_of(d.get("new_value"), statuses, current)) for at, d in changes]
    return history


def missing_fields(issue: Mapping[str, Any], fields: Mapping[str, str]) -> list[str]:
    """The connector's written fields that are not enabled for this issue (Redmine would ignore
    them without an error), as `name (id N)`."""
    present = set(custom_values(issue))
    return [f"{name} (id {fid})" for name, fid in field_ids(fields, WRITTEN).items() if fid not in present]


def _date(value: Any) -> date | None:
    """A `YYYY-MM-DD` day; None when empty or unreadable."""
    try:
        return date.fromisoformat(value) if isinstance(value, str) and value else None
    except ValueError:
        return None


def to_ticket(
    issue: Mapping[str, Any], users: Mapping[int, Any], fields: Mapping[str, str], options: Mapping[str, Any]
) -> RedmineTicket:
    """The domain ticket for one issue (read with the connector's admin key) and its users."""
    iid = issue["id"]
    created = api_moment(issue.get("created_on"), f"issue {iid} created_on")
    values = custom_values(issue)
    ids = field_ids(fields, WRITTEN + READ)

    def value(name: str) -> Any:
        return values.get(ids[name]) if name in ids else None

    author = _user(users, (issue.get("author") or {}).get("id"))
    assignee = _user(users, (issue.get("assigned_to") or {}).get("id"))
    comments = [Comment(created, Author.REQUESTER, True, opening=True)]
    comments += [
        Comment(
            api_moment(j.get("created_on"), f"journal {j.get('id')} created_on"),
            author_of((j.get("user") or {}).get("id"), issue, users, options),
            j.get("private_notes") is not True,
        )
        for j in comment_journals(issue)
    ]
    name = " ".join(p for p in (text(author.get("firstname")), text(author.get("lastname"))) if p)
    flags = frozenset(f.strip() for f in (text(value("flags")) or "").split(",") if f.strip())
    mail = text(assignee.get("mail"))
    return RedmineTicket(
        platform=PLATFORM,
        id=str(iid),
        created_at=created,
        requester_email=text(author.get("mail")),
        organisation_id=None,
        product=text(value("product")),
        request_type=vocabulary(value("request_type"), REQUEST_TYPES),
        topic=vocabulary(value("topic"), TOPICS),
        channel=vocabulary(value("channel"), CHANNELS),
        statuses=tuple(status_history(issue, created, options)),
        status=status_of((issue.get("status") or {}).get("id"), status_map(options), issue.get("status") or {}),
        comments=tuple(comments),
        carried=Carried(
            tier=text(value("tier")),
            first_response_due=parse_moment(value("first_response_due")),
            resolution_due=parse_moment(value("resolution_due")),
            flags=flags,
            assignee=mail.lower() if mail else None,
        ),
        subject=text(issue.get("subject")),
        requester_name=name or None,
        project_id=(issue.get("project") or {}).get("id"),
        start_date=_date(issue.get("start_date")),
        due_date=issue.get("due_date"),
        assignee_id=(issue.get("assigned_to") or {}).get("id"),
        last_journal_id=max([int(j.get("id") or 0) for j in issue.get("journals") or []], default=0),
        custom_field_ids=frozenset(values),
        values={k: ("" if v is None else v) for k, v in values.items()},
    )
