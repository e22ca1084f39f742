"""Turn Freshdesk API v2 answers (a ticket with its requester, company and stats, its
conversations, which of their authors are agents) into the domain's `Ticket`. Pure.

Docs: https://developers.freshdesk.com/api/#tickets (View a ticket, `include=requester,company,stats`),
#list_all_ticket_notes (conversations: `incoming`, `private`, `user_id`), #agents. Shapes as
Freshdesk's own API v2 templates render them (tests/fixtures/freshdesk/README.md).

Freshdesk keeps no status history in API v2: `stats` holds only the latest moments. So a ticket
reports its current status and since when (`stats.status_updated_at`, else `updated_at`), and no
history: a pause that ended before the current status is invisible (the resolution clock counts
it as running time, an earlier due date, never a later one).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from connector.core.alerts import is_alert_tag
from connector.core.entitlement import REQUEST_TYPES, TOPICS
from connector.core.errors import BadInput
from connector.core.ticket import Author, Carried, Comment, Ticket, TicketStatus

log = logging.getLogger(__name__)

PLATFORM = "freshdesk"
COMMON = {s.value: s for s in TicketStatus}
# Freshdesk's built-in statuses; 6 and up are an account's own (options.statuses)
STATUSES = {2: TicketStatus.OPEN, 3: TicketStatus.PENDING, 4: TicketStatus.SOLVED, 5: TicketStatus.CLOSED}
# source codes: 1 Email, 2 Portal, 3 Phone, 7 Chat, 9 Feedback widget (10 Outbound email: agent-made)
CHANNELS = {1: "email", 2: "portal", 3: "phone", 7: "messenger", 9: "portal"}
DEFAULT_REQUEST_TYPES = {
    "question": "information",
    "incident": "error",
    "problem": "error",
    "feature request": "proposal",
}


def parse_moment(value: Any) -> datetime | None:
    """An ISO 8601 moment with an offset (`2024-05-13T07:00:00Z`); None for empty or unreadable."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return moment if moment.utcoffset() is not None else None


def api_moment(value: Any, what: str) -> datetime:
    """A moment the API always sends (created_at); BadInput when missing or unreadable."""
    moment = parse_moment(value)
    if moment is None:
        raise BadInput(f"Freshdesk answer has no readable {what}: {value!r}")
    return moment


def text(value: Any) -> str | None:
    """A value as stripped text; None for empty."""
    if value is None or not str(value).strip():
        return None
    return str(value).strip()


def ticket_id(value: Any) -> str:
    """A Freshdesk ticket number; BadInput for anything else (it goes into API paths)."""
    found = str(value or "").strip()
    if not found.isdigit() or int(found) < 1:
        raise BadInput(f"not a Freshdesk ticket id: {found[:40]!r}")
    return found


def common_status(code: Any, statuses: Mapping[str, str]) -> TicketStatus | None:
    """A status code as a common status: options.statuses first, then Freshdesk's built-in ones;
    an unmapped custom status counts as on hold (the vendor's clock runs), with a warning."""
    if code is None:
        return None
    if str(code) in statuses:
        return COMMON[statuses[str(code)]]
    if isinstance(code, int) and code in STATUSES:
        return STATUSES[code]
    log.warning("freshdesk: status %s is not mapped; counted as on hold (map it in options.statuses)", code)
    return TicketStatus.HOLD


def product_code(value: Any, products: Mapping[str, str]) -> str | None:
    """The registry's product code for a field value: `options.products`, else the value in the
    registry's code style (`KOMPAS-3D` -> `kompas_3d`)."""
    raw = text(value)
    if raw is None:
        return None
    return products.get(raw) or re.sub(r"[^a-z0-9]+", "_", raw.lower()).strip("_") or None


def vocabulary(value: Any, allowed: Iterable[str]) -> str | None:
    """A field value mapped onto our words: `information`, or a choice like `fd_information`."""
    word = (text(value) or "").lower()
    return next((k for k in allowed if word and (word == k or word.endswith("_" + k))), None)


def request_type(ticket: Mapping[str, Any], fields: Mapping[str, str], options: Mapping[str, Any]) -> str | None:
    """The request type: a custom field when configured, else the ticket's built-in type."""
    if fields.get("request_type"):
        return vocabulary((ticket.get("custom_fields") or {}).get(fields["request_type"]), REQUEST_TYPES)
    kind = (text(ticket.get("type")) or "").lower()
    mapping = {k.lower(): v for k, v in (options.get("request_types") or DEFAULT_REQUEST_TYPES).items()}
    return mapping.get(kind)


def outgoing_authors(conversations: Sequence[Mapping[str, Any]], requester_id: Any) -> list[int]:
    """Authors of outgoing conversations other than the requester: agents, unless proven otherwise."""
    found: list[int] = []
    for c in conversations:
        user = c.get("user_id")
        if not c.get("incoming") and isinstance(user, int) and user != requester_id and user not in found:
            found.append(user)
    return found


def comments(ticket: Mapping[str, Any], conversations: Sequence[Mapping[str, Any]], agents: set[int]) -> list[Comment]:
    """The request itself (the ticket's description), then every conversation in time order."""
    requester = ticket.get("requester_id")
    found = [Comment(api_moment(ticket.get("created_at"), "ticket created_at"), Author.REQUESTER, True, True)]
    for c in conversations:
        user = c.get("user_id")
        who = (
            Author.REQUESTER
            if user == requester
            else (Author.END_USER if c.get("incoming") else Author.AGENT if user in agents else Author.END_USER)
        )
        found.append(
            Comment(api_moment(c.get("created_at"), "conversation created_at"), who, c.get("private") is not True)
        )
    return sorted(found, key=lambda c: c.at)


def carried(
    ticket: Mapping[str, Any],
    fields: Mapping[str, str],
    tag_prefix: str,
    assignee_email: str | None,
    tier_values: Mapping[str, str],
) -> Carried:
    """What the connector's own fields hold: tier and due moments (cf_* fields), prefixed tags."""
    custom = ticket.get("custom_fields") or {}
    raw_tier = text(custom.get(fields.get("tier", "")))
    by_value = {v: k for k, v in tier_values.items()}
    flags = frozenset(
        tag[len(tag_prefix) :]
        for tag in ticket.get("tags") or []
        if tag_prefix
        and isinstance(tag, str)
        and tag.startswith(tag_prefix)
        and not is_alert_tag(tag[len(tag_prefix) :])
    )
    return Carried(
        tier=by_value.get(raw_tier, raw_tier) if raw_tier else None,
        first_response_due=parse_moment(custom.get(fields.get("first_response_due", ""))),
        resolution_due=parse_moment(custom.get(fields.get("resolution_due", ""))),
        flags=flags,
        assignee=assignee_email,
    )


def status_since(ticket: Mapping[str, Any]) -> datetime | None:
    """Since when the ticket has its current status (stats), else its last update."""
    stats = ticket.get("stats") or {}
    return parse_moment(stats.get("status_updated_at")) or parse_moment(ticket.get("updated_at"))


def to_ticket(
    ticket: Mapping[str, Any],
    conversations: Sequence[Mapping[str, Any]],
    agents: set[int],
    assignee_email: str | None,
    fields: Mapping[str, str],
    tag_prefix: str,
    options: Mapping[str, Any],
) -> Ticket:
    """The domain ticket from the API's ticket (requester, company, stats included)."""
    requester = ticket.get("requester") or {}
    custom = ticket.get("custom_fields") or {}
    company = ticket.get("company_id") or (ticket.get("company") or {}).get("id")
    return Ticket(
        platform=PLATFORM,
        id=ticket_id(ticket.get("id")),
        created_at=api_moment(ticket.get("created_at"), "ticket created_at"),
        requester_email=(text(requester.get("email")) or "").lower() or None,
        organisation_id=str(company) if company else None,
        product=product_code(custom.get(fields.get("product", "")), options.get("products") or {}),
        request_type=request_type(ticket, fields, options),
        topic=vocabulary(custom.get(fields.get("topic", "")), TOPICS),
        channel=CHANNELS.get(ticket.get("source")),  # type: ignore[arg-type]
        statuses=(),  # API v2 has no status history (module docstring)
        status=common_status(ticket.get("status"), options.get("statuses") or {}),
        status_since=status_since(ticket),
        comments=tuple(comments(ticket, conversations, agents)),
        carried=carried(ticket, fields, tag_prefix, assignee_email, options.get("tier_values") or {}),
        subject=text(ticket.get("subject")),
        requester_name=text(requester.get("name")),
    )
