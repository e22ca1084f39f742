"""The one `PUT /api/v2/tickets/{id}.json` body that carries a write-back plan.

Docs: https://developer.zendesk.com/api-reference/ticketing/tickets/tickets/#update-ticket
(`custom_fields` [{id, value}], write-only `additional_tags` / `remove_tags` / `assignee_email`,
`comment` {body, public: false} for an internal note).

Due dates go into text fields as ISO 8601 with the offset of the moment as the domain computed
it (the vendor calendar's zone, e.g. `2024-05-14T18:00:00+03:00`): agents read the vendor's
local time, machines read an unambiguous instant, and reading it back gives the same instant
(full precision, so a re-read never looks like a change).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from connector.core.errors import BadInput
from connector.core.ticket import Carried, Ticket, WriteBack

log = logging.getLogger(__name__)

FIELD_NAMES = ("tier", "first_response_due", "resolution_due")


def field_id(value: str) -> int | str:
    """Zendesk field ids are integers; config gives strings."""
    return int(value) if str(value).isdigit() else value


def due_text(moment: datetime | None) -> str | None:
    """A due moment as the text field holds it; None clears the field."""
    if moment is None:
        return None
    if moment.utcoffset() is None:
        raise BadInput(f"naive due moment {moment.isoformat()}: give a UTC offset")
    return moment.isoformat()


def field_value(name: str, desired: Carried, tier_values: Mapping[str, str]) -> Any:
    """The value to write into one of the connector's custom fields."""
    if name == "tier":
        return tier_values.get(desired.tier, desired.tier) if desired.tier else None
    return due_text(getattr(desired, name))


def update_body(
    ticket: Ticket,
    plan: WriteBack,
    fields: Mapping[str, str],
    tag_prefix: str,
    tier_values: Mapping[str, str] | None = None,
) -> dict[str, Any] | None:
    """The `{"ticket": {...}}` body for the plan's changes, or None when there is nothing to send.

    Only changed fields are sent; tags are added and removed by name so that tags the
    connector does not own (no prefix) are never touched.
    """
    if not plan.needed:
        return None
    desired = plan.desired
    body: dict[str, Any] = {}
    custom = []
    for name in FIELD_NAMES:
        if name not in plan.changed:
            continue
        if not fields.get(name):
            log.warning("zendesk: no field id configured for %r; not written", name)
            continue
        custom.append({"id": field_id(fields[name]), "value": field_value(name, desired, tier_values or {})})
    if custom:
        body["custom_fields"] = custom
    if "flags" in plan.changed:
        added = sorted(tag_prefix + f for f in desired.flags - ticket.carried.flags)
        removed = sorted(tag_prefix + f for f in ticket.carried.flags - desired.flags)
        if added:
            body["additional_tags"] = added
        if removed:
            body["remove_tags"] = removed
    if "assignee" in plan.changed and desired.assignee:  # never unassign: agents own that
        body["assignee_email"] = desired.assignee
    if plan.note:
        body["comment"] = {"body": plan.note, "public": False}
    return {"ticket": body} if body else None
