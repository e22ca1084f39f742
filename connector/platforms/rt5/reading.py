"""A Request Tracker 5 ticket as its REST 2 API shows it -> the domain `Ticket` (pure).

Facts of RT 5.0.3 this relies on (checked against a real RT, tests/fixtures/rt5/api/README.md):
- `GET /ticket/:id`: `Created`, `Status`, `Requestor` [{id: user name}], `Owner` {id: name,
  "Nobody" when unowned}, `Due` (UTC; unset reads 1970-01-01T00:00:00Z), `CustomFields`
  [{name, values: [...]}] (an empty value may read `[null]`).
- `GET /ticket/:id/history` (oldest first): Create (the request itself), Correspond (public),
  Comment (internal), Status (OldValue -> NewValue), and others the connector ignores.
- Statuses of the default lifecycle: new, open, stalled (waiting: the resolution clock pauses),
  resolved, rejected, deleted; other lifecycles are mapped with `options.statuses`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from connector.core.entitlement import REQUEST_TYPES, TOPICS
from connector.core.errors import BadInput, PlatformRejected
from connector.core.ticket import Author, Carried, Comment, StatusAt, Ticket, TicketStatus

PLATFORM = "rt5"
STATUSES = {
    "new": TicketStatus.NEW,
    "open": TicketStatus.OPEN,
    "stalled": TicketStatus.PENDING,
    "resolved": TicketStatus.SOLVED,
    "rejected": TicketStatus.CLOSED,
    "deleted": TicketStatus.CLOSED,
}
UNSET = datetime(1970, 1, 1, tzinfo=UTC)  # how RT reads an unset date
NOBODY = "Nobody"
SYSTEM = "RT_System"
COMMENTS = {"Create": True, "Correspond": True, "Comment": False}  # transaction type -> public
EMPTY = "-"  # what an emptied custom field holds (RT stores "" as a value that reads [null])


def rt_moment(value: Any, where: str) -> datetime | None:
    """A REST 2 moment (`2026-12-08T15:00:00Z`) as aware UTC; the 1970 epoch is unset."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise PlatformRejected(f"{where}: {value[:40]!r} is not a date-time") from None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return None if moment == UNSET else moment.astimezone(UTC)


def field_moment(value: str | None) -> datetime | None:
    """What the connector wrote into a date-time custom field (ISO 8601 with an offset, or RT's
    own `YYYY-MM-DD HH:MM:SS` in UTC); an agent may have typed anything: unreadable is None."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def custom_values(doc: Mapping[str, Any]) -> dict[str, str | None]:
    """The ticket's custom fields by name: the first value, None when empty."""
    found: dict[str, str | None] = {}
    for cf in doc.get("CustomFields") or []:
        if not isinstance(cf, Mapping) or not cf.get("name"):
            continue
        values = [v for v in cf.get("values") or [] if isinstance(v, str) and v.strip() and v.strip() != EMPTY]
        found[str(cf["name"])] = values[0].strip() if values else None
    return found


def status_of(name: Any, options: Mapping[str, Any]) -> TicketStatus:
    """An RT status as a common one (`options.statuses` for other lifecycles); unknown is open."""
    mapping = {**STATUSES, **{str(k).lower(): TicketStatus(v) for k, v in (options.get("statuses") or {}).items()}}
    return mapping.get(str(name or "").lower(), TicketStatus.OPEN)


def author_of(
    name: str, requestors: Sequence[str], privileged: Mapping[str, bool], options: Mapping[str, Any]
) -> Author:
    """The role of a transaction's creator: the requestor, the connector itself, staff (a
    privileged RT user), or someone else on the customer's side."""
    if name.lower() in (r.lower() for r in requestors):
        return Author.REQUESTER
    if name.lower() == str(options.get("connector_user") or "connector").lower():
        return Author.CONNECTOR
    return Author.AGENT if privileged.get(name) else Author.END_USER


def history_authors(history: Sequence[Mapping[str, Any]], options: Mapping[str, Any]) -> set[str]:
    """User names whose role the reading needs (creators of comments, but RT's and the connector's)."""
    own = str(options.get("connector_user") or "connector").lower()
    return {
        _creator(t)
        for t in history
        if t.get("Type") in COMMENTS and _creator(t) not in ("", SYSTEM) and _creator(t).lower() != own
    }


def _creator(transaction: Mapping[str, Any]) -> str:
    creator = transaction.get("Creator")
    return str(creator.get("id") or creator.get("Name") or "") if isinstance(creator, Mapping) else str(creator or "")


def to_ticket(
    doc: Mapping[str, Any],
    history: Sequence[Mapping[str, Any]],
    users: Mapping[str, Mapping[str, Any]],
    fields: Mapping[str, str],
    options: Mapping[str, Any],
) -> Ticket:
    """The domain ticket from `GET /ticket/:id`, its history and the users it names (by name)."""
    tid = doc.get("id")
    if tid is None:
        raise BadInput("RT answered a ticket without an id")
    created = rt_moment(doc.get("Created"), f"ticket {tid} Created")
    if created is None:
        raise PlatformRejected(f"RT ticket {tid} has no creation time")
    requestors = [str(r.get("id")) for r in doc.get("Requestor") or [] if isinstance(r, Mapping) and r.get("id")]
    privileged = {name: bool(int(str(u.get("Privileged") or 0))) for name, u in users.items()}
    comments: list[Comment] = []
    statuses: list[StatusAt] = []
    for transaction in history:
        kind, name = transaction.get("Type"), _creator(transaction)
        at = rt_moment(transaction.get("Created"), f"ticket {tid} transaction {transaction.get('id')}")
        if at is None:
            continue
        if kind in COMMENTS and name != SYSTEM:
            comments.append(
                Comment(at, author_of(name, requestors, privileged, options), COMMENTS[kind], opening=kind == "Create")
            )
        elif kind == "Status" or (kind == "Set" and transaction.get("Field") == "Status"):
            if not statuses:  # the status it was created with
                statuses.append(StatusAt(created, status_of(transaction.get("OldValue"), options)))
            statuses.append(StatusAt(at, status_of(transaction.get("NewValue"), options)))
    values = custom_values(doc)

    def custom(ours: str) -> str | None:
        return values.get(fields.get(ours, ours))

    owner = str((doc.get("Owner") or {}).get("id") or NOBODY)
    requester = users.get(requestors[0], {}) if requestors else {}
    return Ticket(
        platform=PLATFORM,
        id=str(tid),
        created_at=created,
        requester_email=(str(requester.get("EmailAddress") or "") or (requestors[0] if requestors else "")) or None,
        product=custom("product"),
        request_type=_choice(custom("request_type"), REQUEST_TYPES),
        topic=_choice(custom("topic"), TOPICS),
        statuses=tuple(statuses),
        status=status_of(doc.get("Status"), options),
        comments=tuple(comments),
        carried=Carried(
            tier=custom("tier"),
            first_response_due=field_moment(custom("first_response_due")),
            resolution_due=rt_moment(doc.get("Due"), f"ticket {tid} Due"),
            flags=frozenset(f.strip() for f in (custom("flags") or "").split(",") if f.strip()),
            assignee=(str((users.get(owner) or {}).get("EmailAddress") or "") or None) if owner != NOBODY else None,
        ),
        subject=str(doc.get("Subject") or "") or None,
        requester_name=str(requester.get("RealName") or "") or None,
    )


def _choice(value: str | None, allowed: tuple[str, ...]) -> str | None:
    word = value.strip().lower().replace(" ", "_") if value else None
    return word if word in allowed else None
