"""SLA alerts on Zendesk: one ticket update with the tags (added by name), an internal note
and the priority.

Docs: https://developer.zendesk.com/api-reference/ticketing/tickets/tickets/#update-ticket
(`additional_tags`, `comment.public: false`, `priority`)
"""

from __future__ import annotations

from typing import Any

from connector.core.errors import BadInput
from connector.platforms.base import Alert
from connector.platforms.pacing import PacedApi


def put_alert(api: PacedApi, alert: Alert) -> bool:
    """One ticket update: tags added by name, an internal note, the priority."""
    if not str(alert.ticket_id).isdigit():
        raise BadInput(f"not a Zendesk ticket id: {alert.ticket_id!r}")
    body = alert_body(alert)
    if body is None:
        return False
    api.call("PUT", f"/api/v2/tickets/{alert.ticket_id}.json", body)
    return True


def alert_body(alert: Alert) -> dict[str, Any] | None:
    """The `{"ticket": ...}` body of an alert; None when it carries nothing."""
    ticket: dict[str, Any] = {}
    if alert.tags:
        ticket["additional_tags"] = sorted(set(alert.tags))
    if alert.note:
        ticket["comment"] = {"body": alert.note, "public": False}
    if alert.priority:
        ticket["priority"] = alert.priority
    return {"ticket": ticket} if ticket else None
