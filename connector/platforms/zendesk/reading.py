"""Turn Zendesk Support API answers (ticket, audits, users) into the domain's `Ticket`.

Pure: dicts in, domain objects out. Docs:
- tickets https://developer.zendesk.com/api-reference/ticketing/tickets/tickets/
- audits https://developer.zendesk.com/api-reference/ticketing/tickets/ticket_audits/ and the
  events in them https://developer.zendesk.com/documentation/ticketing/reference-guides/ticket-audit-events-reference/
- via channels https://developer.zendesk.com/documentation/ticketing/reference-guides/via-types/
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable, Mapping

from connector.core.entitlement import REQUEST_TYPES, TOPICS
from connector.core.errors import BadInput
from connector.core.ticket import Carried, StatusAt, Ticket, TicketStatus

STATUSES = {s.value: s for s in TicketStatus}  # Zendesk's status names are ours (lower-case)
AGENT_ROLES = frozenset({"agent", "admin"})

# Zendesk via channel (the ticket's type, or the via type) -> our channel; anything else
# (api, rule, sample_ticket, mobile agent app, ...) says nothing about how the customer asked.
CHANNELS = {
    "email": "email", "mail": "email",
    "voice": "phone", "phone_call_inbound": "phone", "phone_call_outbound": "phone",
    "voicemail": "phone", "api_phone_call_inbound": "phone", "api_voicemail": "phone",
    "web": "portal", "web_form": "portal", "help_center": "portal", "helpcenter": "portal",
    "web_widget": "portal", "dropbox": "portal",
    "chat": "messenger", "chat_offline_message": "messenger", "native_messaging": "messenger",
    "mobile_sdk": "messenger", "whatsapp": "messenger", "telegram": "messenger",
    "viber": "messenger", "line": "messenger", "wechat": "messenger", "kakaotalk": "messenger",
    "facebook": "messenger", "facebook_message": "messenger", "instagram_dm": "messenger",
    "twitter_dm": "messenger", "apple_business_chat": "messenger", "sms": "messenger",
    "text_message": "messenger", "any_channel": "messenger",
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


def status_history(ticket: Mapping[str, Any], audits: list[Mapping[str, Any]]) -> list[StatusAt]:
    """The status at creation and every change of it, from the audits' Create/Change events."""
    history: list[StatusAt] = []
    for audit in audits:
        for event in audit.get("events") or []:
            if event.get("field_name") == "status" and event.get("type") in ("Create", "Change"):
                status = STATUSES.get(str(event.get("value", "")).lower())
                if status is not None:
                    history.append(StatusAt(api_moment(audit.get("created_at"), "audit created_at"), status))
    created = api_moment(ticket.get("created_at"), "ticket created_at")
    if not history:  # no audits readable (e.g. an archived ticket): creation, then the status now
        history.append(StatusAt(created, TicketStatus.NEW))
        now = STATUSES.get(str(ticket.get("status", "")).lower())
        if now is not None and now is not TicketStatus.NEW:
            history.append(StatusAt(parse_moment(ticket.get("updated_at")) or created, now))
    return sorted(history, key=lambda s: s.at)


def comment_authors(audits: list[Mapping[str, Any]]) -> set[int]:
    """Authors of the public comments after creation (the ones that may be a first reply)."""
    return {a for _, a in _public_replies(audits)}


def first_public_reply(audits: list[Mapping[str, Any]], requester_id: Any,
                       users: Mapping[int, Mapping[str, Any]]) -> datetime | None:
    """When an agent or admin (not the requester) first added a public comment.

    The comment in the creating audit is the request itself (an agent logging a phone call
    writes it), so it never counts as a reply.
    """
    for at, author in _public_replies(audits):
        role = (users.get(author) or {}).get("role")
        if author != requester_id and role in AGENT_ROLES:
            return at
    return None


def _public_replies(audits: list[Mapping[str, Any]]) -> list[tuple[datetime, int]]:
    replies = []
    for audit in audits:
        events = audit.get("events") or []
        if any(e.get("type") == "Create" for e in events):
            continue
        for event in events:
            if event.get("type") == "Comment" and event.get("public") is True:
                author = event.get("author_id", audit.get("author_id"))
                if isinstance(author, int):
                    replies.append((api_moment(audit.get("created_at"), "audit created_at"), author))
    return sorted(replies)


def carried(ticket: Mapping[str, Any], fields: Mapping[str, str], tag_prefix: str,
            assignee_email: str | None, tier_values: Mapping[str, str]) -> Carried:
    """What the connector's own fields hold now: tier, due dates, prefixed tags, assignee."""
    values = custom_values(ticket)
    raw_tier = text(values.get(str(fields.get("tier", ""))))
    tier_by_value = {v: k for k, v in tier_values.items()}
    tier = tier_by_value.get(raw_tier, raw_tier) if raw_tier else None
    tier_tags = set(tier_values.values())  # a tier dropdown adds its option's tag: not a flag
    flags = frozenset(t[len(tag_prefix):] for t in ticket.get("tags") or []
                      if tag_prefix and t.startswith(tag_prefix) and t not in tier_tags)
    return Carried(tier=tier,
                   first_response_due=parse_moment(values.get(str(fields.get("first_response_due", "")))),
                   resolution_due=parse_moment(values.get(str(fields.get("resolution_due", "")))),
                   flags=flags, assignee=assignee_email)


def to_ticket(ticket: Mapping[str, Any], audits: list[Mapping[str, Any]],
              users: Mapping[int, Mapping[str, Any]], fields: Mapping[str, str], tag_prefix: str,
              tier_values: Mapping[str, str] | None = None) -> Ticket:
    """The domain ticket from the API's ticket, its audits (time order) and the users involved."""
    requester = users.get(ticket.get("requester_id")) or {}
    assignee = users.get(ticket.get("assignee_id")) or {}
    values = custom_values(ticket)
    org = ticket.get("organization_id") or requester.get("organization_id")
    return Ticket(
        platform="zendesk",
        id=str(ticket["id"]),
        created_at=api_moment(ticket.get("created_at"), "ticket created_at"),
        requester_email=text(requester.get("email")),
        organisation_id=str(org) if org else None,
        product=text(values.get(str(fields.get("product", "")))),
        request_type=vocabulary(values.get(str(fields.get("request_type", ""))), REQUEST_TYPES) or "error",
        topic=vocabulary(values.get(str(fields.get("topic", ""))), TOPICS),
        channel=CHANNELS.get(str((ticket.get("via") or {}).get("channel", ""))),
        statuses=tuple(status_history(ticket, audits)),
        first_public_reply_at=first_public_reply(audits, ticket.get("requester_id"), users),
        carried=carried(ticket, fields, tag_prefix, text(assignee.get("email")), tier_values or {}),
    )
