"""A django-helpdesk ticket as its REST API (`GET /api/tickets/<id>/`) shows it -> the domain `Ticket`.

Facts of django-helpdesk 2.6 this relies on (read in its source, checked against a real instance):
- The serializer has no `created`: every ticket made by its forms (staff, API, web, e-mail) gets an
  opening follow-up ("Ticket Opened") in the same request, so the earliest follow-up dates it.
- Statuses: 1 Open, 2 Reopened, 3 Resolved, 4 Closed, 5 Duplicate; no "waiting on the customer"
  status exists unless an admin adds one (HELPDESK_TICKET_STATUS_CHOICES; map it with
  `options.statuses`). A follow-up carries `new_status` only when it changed the status.
- A follow-up's `user` is set only for helpdesk staff; the submitter's (e-mail, web) have none.
- Custom fields appear as `custom_<name>`, as text; "" when created empty, null when never set.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from connector.core.entitlement import CHANNELS, REQUEST_TYPES, TOPICS
from connector.core.errors import BadInput, PlatformRejected
from connector.core.ticket import Author, Carried, Comment, StatusAt, Ticket, TicketStatus

PLATFORM = "django-helpdesk"
STATUSES = {
    1: TicketStatus.OPEN,
    2: TicketStatus.OPEN,
    3: TicketStatus.SOLVED,
    4: TicketStatus.CLOSED,
    5: TicketStatus.CLOSED,
}
EMPTY = "-"  # what an emptied field holds: its API refuses "" and null for custom fields
WRITTEN = ("tier", "first_response_due", "resolution_due", "flags")
READ = ("product", "request_type", "topic", "channel")


def field_name(fields: Mapping[str, str], ours: str) -> str:
    """The custom field (name in django-helpdesk) that holds our field `ours`."""
    return fields.get(ours, ours)


def text(value: Any) -> str | None:
    """A custom field's text; None when empty, never set or emptied by the connector."""
    if value is None:
        return None
    value = str(value).strip()
    return None if value in ("", EMPTY) else value


def moment(value: Any, where: str) -> datetime | None:
    """An ISO 8601 moment (the API's `...Z`, or what the connector wrote) as aware UTC."""
    value = text(value)
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise PlatformRejected(f"{where}: {value[:40]!r} is not an ISO 8601 moment") from None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def status_of(code: int | None, options: Mapping[str, Any]) -> TicketStatus:
    """A helpdesk status code as a common status; unknown codes count as open (clock running)."""
    try:
        custom = {int(k): TicketStatus(v) for k, v in options.get("statuses", {}).items()}
    except ValueError as exc:
        raise BadInput(
            f"{exc}: map status codes to {', '.join(s.value for s in TicketStatus)}",
            "platforms.django-helpdesk.options.statuses",
        ) from None
    return {**STATUSES, **custom}.get(code or 1, TicketStatus.OPEN)


def _choice(value: str | None, allowed: tuple[str, ...]) -> str | None:
    value = value.lower().replace(" ", "_") if value else None
    return value if value in allowed else None


def _channel(opening: Mapping[str, Any]) -> str | None:
    """How the ticket came in, from its opening follow-up: e-mail (a Message-ID), the public web
    form (no staff user), or entered by staff (a phone call, say: unknown)."""
    if opening.get("message_id"):
        return "email"
    return "portal" if opening.get("user") is None else None


def to_ticket(doc: Mapping[str, Any], fields: Mapping[str, str], options: Mapping[str, Any]) -> Ticket:
    """The domain ticket for one API ticket document."""
    tid = doc["id"]
    followups = sorted(doc.get("followup_set") or [], key=lambda f: (f["date"], f["id"]))
    if not followups:
        raise PlatformRejected(
            f"ticket {tid} has no follow-up, so its creation time is unknown "
            "(tickets made in the Django admin have none)"
        )
    dated = [(moment(f["date"], f"ticket {tid} follow-up {f['id']} date"), f) for f in followups]
    created_at, opening = dated[0]
    statuses = [StatusAt(created_at, TicketStatus.OPEN)]  # type: ignore[arg-type]
    statuses += [
        StatusAt(at, status_of(f["new_status"], options))  # type: ignore[arg-type]
        for at, f in dated
        if f.get("new_status") is not None
    ]
    # Follow-ups with text are comments: by staff when they name a user (the submitter's have
    # none); the opening one is the request itself, which staff may have typed in.
    comments = [
        Comment(
            at,  # type: ignore[arg-type]
            Author.AGENT if f.get("user") is not None else Author.REQUESTER,
            bool(f.get("public")),
            opening=i == 0,
        )
        for i, (at, f) in enumerate(dated)
        if i == 0 or text(f.get("comment"))
    ]

    def custom(ours: str) -> Any:
        return doc.get(f"custom_{field_name(fields, ours)}")

    user_ids = {int(v): k for k, v in options.get("user_ids", {}).items()}
    carried = Carried(
        tier=text(custom("tier")),
        first_response_due=moment(custom("first_response_due"), f"ticket {tid} first_response_due"),
        resolution_due=moment(doc.get("due_date"), f"ticket {tid} due_date"),
        flags=frozenset(f.strip() for f in (text(custom("flags")) or "").split(",") if f.strip()),
        assignee=user_ids.get(doc["assigned_to"]) if doc.get("assigned_to") is not None else None,
    )
    return Ticket(
        platform=PLATFORM,
        id=str(tid),
        created_at=created_at,  # type: ignore[arg-type]
        requester_email=text(doc.get("submitter_email")),
        organisation_id=None,
        product=text(custom("product")),
        request_type=_choice(text(custom("request_type")), REQUEST_TYPES),
        topic=_choice(text(custom("topic")), TOPICS),
        channel=_choice(text(custom("channel")), CHANNELS) if "channel" in fields else _channel(opening),
        statuses=tuple(statuses),
        status=status_of(doc.get("status"), options),  # a PATCH leaves no follow-up
        comments=tuple(comments),
        carried=carried,
        subject=text(doc.get("title")),
    )


def missing_fields(doc: Mapping[str, Any], fields: Mapping[str, str]) -> list[str]:
    """The custom fields the connector writes that this helpdesk lacks (its API silently drops
    unknown `custom_*` members of a PATCH, so a missing field must be said out loud)."""
    names = [field_name(fields, f) for f in WRITTEN if f != "resolution_due"]
    return [n for n in names if f"custom_{n}" not in doc]
