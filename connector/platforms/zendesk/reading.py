"""Turn Zendesk Support API answers (ticket, audits, users) into the domain's `Ticket`.

Pure: dicts in, domain objects out. Docs:
- tickets https://developer.zendesk.com/api-reference/ticketing/tickets/tickets/
- audits https://developer.zendesk.com/api-reference/ticketing/tickets/ticket_audits/ and the
  events in them https://developer.zendesk.com/documentation/ticketing/reference-guides/ticket-audit-events-reference/
- via channels https://developer.zendesk.com/documentation/ticketing/reference-guides/via-types/
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from connector.core.alerts import is_alert_tag
from connector.core.entitlement import REQUEST_TYPES, TOPICS
from connector.core.errors import BadInput
from connector.core.ticket import Author, Carried, Comment, StatusAt, Ticket, TicketStatus

STATUSES = {s.value: s for s in TicketStatus}  # Zendesk's status names are ours (lower-case)
AGENT_ROLES = frozenset({"agent", "admin"})

# Zendesk via channel (the ticket's type, or the via type) -> our channel; anything else
# (api, rule, sample_ticket, mobile agent app, ...) says nothing about how the customer asked.
CHANNELS = {
    "email": "email",
    "mail": "email",
    "voice": "phone",
    "phone_call_inbound": "phone",
    "phone_call_outbound": "phone",
    "voicemail": "phone",
    "api_phone_call_inbound": "phone",
    "api_voicemail": "phone",
    "web": "portal",
    "web_form": "portal",
    "help_center": "portal",
    "helpcenter": "portal",
    "web_widget": "portal",
    "dropbox": "portal",
    "chat": "messenger",
    "chat_offline_message": "messenger",
    "native_messaging": "messenger",
    "mobile_sdk": "messenger",
    "whatsapp": "messenger",
    "telegram": "messenger",
    "viber": "messenger",
    "line": "messenger",
    "wechat": "messenger",
    "kakaotalk": "messenger",
    "facebook": "messenger",
    "facebook_message": "messenger",
    "instagram_dm": "messenger",
    "twitter_dm": "messenger",
    "apple_business_chat": "messenger",
    "sms": "messenger",
    "text_message": "messenger",
    "any_channel": "messenger",
}


def parse_moment(value: Any) -> datetime | None:
    """An ISO 8601 moment with an offset; None for empty, unreadable or naive values (an agent
    may have typed anything into a text field: we overwrite it rather than fail)."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return moment if moment.utcoffset() is not None else None


def api_moment(value: Any, what: str) -> datetime:
    """A timestamp the API always sends (created_at); BadInput if it is missing or unreadable."""
    moment = parse_moment(value)
    if moment is None:
        raise BadInput(f"Zendesk answer has no readable {what}: {value!r}")
    return moment


def custom_values(ticket: Mapping[str, Any]) -> dict[str, Any]:
    """The ticket's custom field values by field id (as a string)."""
    return {str(f.get("id")): f.get("value") for f in ticket.get("custom_fields") or [] if isinstance(f, dict)}


def vocabulary(value: Any, allowed: Iterable[str]) -> str | None:
    """A dropdown value mapped onto our words: `information` or a tag like `rt_information`."""
    if not isinstance(value, str) or not value.strip():
        return None
    word = value.strip().lower()
    for known in allowed:
        if word == known or word.endswith("_" + known):
            return known
    return None


def text(value: Any) -> str | None:
    """A field value as a stripped string; None for empty."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return str(value).strip()


def status_history(audits: list[Mapping[str, Any]]) -> list[StatusAt]:
    """The status at creation and every change of it, from the audits' Create/Change events."""
    history: list[StatusAt] = []
    for audit in audits:
        for event in audit.get("events") or []:
            if event.get("field_name") == "status" and event.get("type") in ("Create", "Change"):
                status = STATUSES.get(str(event.get("value", "")).lower())
                if status is not None:
                    history.append(StatusAt(api_moment(audit.get("created_at"), "audit created_at"), status))
    return sorted(history, key=lambda s: s.at)


def comment_authors(audits: list[Mapping[str, Any]]) -> set[int]:
    """Authors of the comments (whose roles the reading needs)."""
    return {author for _, author, _, _ in _comments(audits) if isinstance(author, int)}


def comments(
    audits: list[Mapping[str, Any]], requester_id: Any, users: Mapping[int, Mapping[str, Any]]
) -> list[Comment]:
    """Every comment with its author's role. The comment in the creating audit is the request
    itself (an agent logging a phone call writes it)."""
    found = []
    for at, author, public, opening in _comments(audits):
        role = (users.get(author) or {}).get("role") if isinstance(author, int) else None
        who = Author.REQUESTER if author == requester_id else (Author.AGENT if role in AGENT_ROLES else Author.END_USER)
        found.append(Comment(at, who, public, opening))
    return found


def _comments(audits: list[Mapping[str, Any]]) -> list[tuple[datetime, Any, bool, bool]]:
    """(when, author id, public, in the creating audit) of every Comment event."""
    out = []
    for audit in audits:
        events = audit.get("events") or []
        opening = any(e.get("type") == "Create" for e in events)
        for event in events:
            if event.get("type") == "Comment":
                author = event.get("author_id", audit.get("author_id"))
                out.append(
                    (
                        api_moment(audit.get("created_at"), "audit created_at"),
                        author,
                        event.get("public") is True,
                        opening,
                    )
                )
    return sorted(out, key=lambda c: c[0])


def carried(
    ticket: Mapping[str, Any],
    fields: Mapping[str, str],
    tag_prefix: str,
    assignee_email: str | None,
    tier_values: Mapping[str, str],
) -> Carried:
    """What the connector's own fields hold now: tier, due dates, prefixed tags, assignee."""
    values = custom_values(ticket)
    raw_tier = text(values.get(str(fields.get("tier", ""))))
    tier_by_value = {v: k for k, v in tier_values.items()}
    tier = tier_by_value.get(raw_tier, raw_tier) if raw_tier else None
    tier_tags = set(tier_values.values())  # a tier dropdown adds its option's tag: not a flag
    flags = frozenset(
        t[len(tag_prefix) :]
        for t in ticket.get("tags") or []
        if tag_prefix and t.startswith(tag_prefix) and t not in tier_tags and not is_alert_tag(t[len(tag_prefix) :])
    )
    return Carried(
        tier=tier,
        first_response_due=parse_moment(values.get(str(fields.get("first_response_due", "")))),
        resolution_due=parse_moment(values.get(str(fields.get("resolution_due", "")))),
        flags=flags,
        assignee=assignee_email,
    )


def _user(users: Mapping[int, Mapping[str, Any]], user_id: int | None) -> Mapping[str, Any]:
    """The sideloaded user with this id, else an empty one (no id, or not sideloaded)."""
    return (users.get(user_id) if user_id is not None else None) or {}


def to_ticket(
    ticket: Mapping[str, Any],
    audits: list[Mapping[str, Any]],
    users: Mapping[int, Mapping[str, Any]],
    fields: Mapping[str, str],
    tag_prefix: str,
    tier_values: Mapping[str, str] | None = None,
) -> Ticket:
    """The domain ticket from the API's ticket, its audits (time order) and the users involved."""
    requester = _user(users, ticket.get("requester_id"))
    assignee = _user(users, ticket.get("assignee_id"))
    values = custom_values(ticket)
    org = ticket.get("organization_id") or requester.get("organization_id")
    return Ticket(
        platform="zendesk",
        id=str(ticket["id"]),
        created_at=api_moment(ticket.get("created_at"), "ticket created_at"),
        requester_email=text(requester.get("email")),
        organisation_id=str(org) if org else None,
        product=text(values.get(str(fields.get("product", "")))),
        request_type=vocabulary(values.get(str(fields.get("request_type", ""))), REQUEST_TYPES),
        topic=vocabulary(values.get(str(fields.get("topic", ""))), TOPICS),
        channel=CHANNELS.get(str((ticket.get("via") or {}).get("channel", ""))),
        statuses=tuple(status_history(audits)),
        status=STATUSES.get(str(ticket.get("status", "")).lower()),
        status_since=parse_moment(ticket.get("updated_at")),
        comments=tuple(comments(audits, ticket.get("requester_id"), users)),
        carried=carried(ticket, fields, tag_prefix, text(assignee.get("email")), tier_values or {}),
        subject=text(ticket.get("subject")),
        requester_name=text(requester.get("name")),
    )
