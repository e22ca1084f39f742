"""A write-back plan -> the body of one `PATCH /api/tickets/<id>/` and the internal note's follow-up.

- `due_date` (the helpdesk's own "Due on", which its lists sort and colour by) is the resolution
  due; null when the tier has no resolution target, so no stale date is left behind.
- The first-response due, tier and flags go to custom fields (text: ISO 8601 in UTC, codes comma
  separated). The API refuses "" and null for a custom field, so an emptied one holds "-".
- The resolution due is mirrored into its custom field too when the helpdesk has one.
- The dedicated engineer: `assigned_to` takes a user id, and the API cannot look users up, so
  `options.user_ids` maps engineers' e-mails to ids; an unmapped engineer is not assigned.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from connector.core.ticket import Carried, Ticket
from connector.platforms.django_helpdesk.reading import EMPTY, field_name


def iso(value: datetime | None) -> str | None:
    """A moment as the API takes it (ISO 8601 with offset, in UTC)."""
    return value.astimezone(UTC).isoformat() if value else None


def patch_body(
    desired: Carried,
    changed: frozenset[str],
    fields: Mapping[str, str],
    options: Mapping[str, Any],
    custom_fields: frozenset[str],
) -> dict[str, Any]:
    """The members of the one PATCH that writes the changed fields (empty: nothing to write)."""
    body: dict[str, Any] = {}

    def custom(ours: str, value: str | None) -> None:
        body[f"custom_{field_name(fields, ours)}"] = value or EMPTY

    if "tier" in changed:
        custom("tier", desired.tier)
    if "first_response_due" in changed:
        custom("first_response_due", iso(desired.first_response_due))
    if "resolution_due" in changed:
        body["due_date"] = iso(desired.resolution_due)
        if field_name(fields, "resolution_due") in custom_fields:
            custom("resolution_due", iso(desired.resolution_due))
    if "flags" in changed:
        custom("flags", ",".join(sorted(desired.flags)))
    user_id = options.get("user_ids", {}).get(desired.assignee) if desired.assignee else None
    if "assignee" in changed and user_id is not None:
        body["assigned_to"] = int(user_id)
    return body


def note_body(ticket: Ticket, note: str) -> dict[str, Any]:
    """A private follow-up (staff only, never e-mailed to the submitter) carrying the note."""
    return private_followup(int(ticket.id), note)


def private_followup(ticket_id: int, note: str) -> dict[str, Any]:
    """The body of `POST /api/followups/` for a private note on ticket `ticket_id`."""
    # helpdesk renders a comment as a Django template; its own code neutralises only {% %}.
    comment = note.replace("{{", "{ {").replace("}}", "} }")
    # No `title`: helpdesk takes a follow-up's title as the ticket's new title.
    return {"ticket": ticket_id, "comment": comment, "public": False}
