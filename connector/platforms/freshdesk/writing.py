"""The write-back on Freshdesk: one `PUT /api/v2/tickets/{id}` and, for the internal note, one
`POST /api/v2/tickets/{id}/notes` with `private: true`.

Docs: https://developers.freshdesk.com/api/#update_ticket, #add_note_to_a_ticket. `tags` replaces
the ticket's whole tag list; `custom_fields` sets the keys sent; `responder_id` is the agent.

The connector's own record of the due moments is in two `cf_*` text fields (ISO 8601 with the
vendor calendar's offset, full precision): they always take what the connector computed. Freshdesk's
own `fr_due_by`/`due_by` (which its views, SLA reminders and escalations use) mirror them whenever
Freshdesk's validation allows (`TicketValidation` in Freshdesk's API; tests/fixtures/freshdesk/README.md):
- never while the ticket's status has the SLA timer off (Resolved and Closed always; Pending and
  the statuses in `options.sla_timer_off_statuses`, default Pending): Freshdesk refuses both then;
- each only when it is later than the ticket's creation;
- `fr_due_by` only when it is not later than the `due_by` in force (the one sent, else the ticket's),
  and `due_by` only when not earlier than the `fr_due_by` in force;
- never cleared: Freshdesk always holds a due date, so a target that is not regulated (or paused)
  leaves Freshdesk's own value alone.
A date that cannot be mirrored is simply not sent (logged at debug): the cf_* fields still say it.
Values are sent in UTC (`...Z`), to the second; one already there to the second is not sent again.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from connector.core.errors import BadInput
from connector.core.ticket import Ticket, WriteBack
from connector.platforms.freshdesk.reading import parse_moment

log = logging.getLogger(__name__)
ALWAYS_OFF = (4, 5)  # Resolved, Closed: the SLA timer never runs
DEFAULT_TIMER_OFF = (3,)  # Pending, as Freshdesk ships it
PRIORITIES = {"low": 1, "medium": 2, "high": 3, "urgent": 4}


def cf_text(moment: datetime | None) -> str | None:
    """A due moment as the cf_* text field holds it (None clears it)."""
    if moment is None:
        return None
    if moment.utcoffset() is None:
        raise BadInput(f"naive due moment {moment.isoformat()}: give a UTC offset")
    return moment.isoformat()


def utc_text(moment: datetime) -> str:
    """A moment as Freshdesk's fr_due_by/due_by take it: UTC, to the second."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def timer_off(status: Any, options: Mapping[str, Any]) -> bool:
    """Whether Freshdesk's SLA timer is off in this status (it then refuses due dates)."""
    off = set(ALWAYS_OFF) | set(options.get("sla_timer_off_statuses", DEFAULT_TIMER_OFF))
    return status in off


def freshdesk_dues(
    ticket: Ticket, plan: WriteBack, current: Mapping[str, Any], options: Mapping[str, Any]
) -> dict[str, str]:
    """The fr_due_by/due_by to send, within Freshdesk's rules (module docstring)."""
    if not options.get("write_due_by", True) or timer_off(current.get("status"), options):
        return {}
    created = ticket.created_at
    fr, res = plan.desired.first_response_due, plan.desired.resolution_due
    now_fr, now_res = parse_moment(current.get("fr_due_by")), parse_moment(current.get("due_by"))
    fr_ok = fr is not None and fr > created
    res_ok = res is not None and res > created
    res_then = res if res_ok else now_res  # the due_by the ticket will have
    if fr_ok and fr is not None and res_then is not None and fr > res_then:
        fr_ok = False
    if res_ok and res is not None and not fr_ok and now_fr is not None and now_fr > res:  # its fr_due_by is later
        res_ok = False
        fr_ok = fr is not None and fr > created and (now_res is None or fr <= now_res)
    skipped = [n for n, ok, wanted in (("fr_due_by", fr_ok, fr), ("due_by", res_ok, res)) if wanted and not ok]
    if skipped:
        log.info(
            "freshdesk: ticket %s: %s not mirrored (Freshdesk would refuse it); the cf_* fields hold it",
            ticket.id,
            " and ".join(skipped),
        )
    send = {}
    for name, ok, wanted, now in (("fr_due_by", fr_ok, fr, now_fr), ("due_by", res_ok, res, now_res)):
        if ok and wanted is not None and (now is None or utc_text(now) != utc_text(wanted)):
            send[name] = utc_text(wanted)
    return send


def update_body(
    ticket: Ticket,
    plan: WriteBack,
    fields: Mapping[str, str],
    tag_prefix: str,
    options: Mapping[str, Any],
    current: Mapping[str, Any],
    responder_id: int | None,
) -> dict[str, Any] | None:
    """The update-ticket body for the plan's changes (`current` = the ticket as read), or None."""
    desired = plan.desired
    body: dict[str, Any] = {}
    custom: dict[str, str | None] = {}
    if "tier" in plan.changed:
        tier = desired.tier
        custom[fields["tier"]] = (options.get("tier_values") or {}).get(tier, tier) if tier else None
    for name in ("first_response_due", "resolution_due"):
        if name in plan.changed:
            custom[fields[name]] = cf_text(getattr(desired, name))
    if custom:
        body["custom_fields"] = custom
    body.update(freshdesk_dues(ticket, plan, current, options))
    if "flags" in plan.changed:
        theirs = [
            t
            for t in current.get("tags") or []
            if not (tag_prefix and str(t).startswith(tag_prefix) and str(t)[len(tag_prefix) :] in ticket.carried.flags)
        ]
        body["tags"] = theirs + [tag_prefix + f for f in sorted(desired.flags) if tag_prefix + f not in theirs]
    if responder_id is not None and responder_id != current.get("responder_id"):
        body["responder_id"] = responder_id
    return body or None


def note_body(note: str) -> dict[str, Any]:
    """A private note (agents only) carrying the text as HTML."""
    lines = html.escape(note, quote=False).splitlines() or [""]
    return {"body": "<div>" + "<br>".join(lines) + "</div>", "private": True}


def priority_code(value: str | None) -> int | None:
    """An alert's priority as Freshdesk's code: 1-4 or Low/Medium/High/Urgent."""
    if value is None:
        return None
    word = str(value).strip().lower()
    if word.isdigit() and 1 <= int(word) <= 4:
        return int(word)
    if word in PRIORITIES:
        return PRIORITIES[word]
    raise BadInput(
        f"Freshdesk priorities are 1-4 or low, medium, high, urgent, not {value!r}", "alerts.points.priority"
    )


def alert_body(current: Mapping[str, Any], tags: tuple[str, ...], priority: str | None) -> dict | None:
    """The update for an SLA alert: the ticket's tags plus the alert's, the priority; None when
    the ticket carries them already."""
    have = list(current.get("tags") or [])
    body: dict[str, Any] = {}
    if any(t not in have for t in tags):
        body["tags"] = have + [t for t in sorted(set(tags)) if t not in have]
    code = priority_code(priority)
    if code is not None and code != current.get("priority"):
        body["priority"] = code
    return body or None
