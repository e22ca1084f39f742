"""The write-back on Jira Service Management: one `PUT /rest/api/3/issue/{key}` and, for the
internal note, one `POST /rest/servicedeskapi/request/{key}/comment` with `public: false`.

Docs:
- edit issue https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issues/#api-rest-api-3-issue-issueidorkey-put
  (`fields` set values, `update.labels[{add|remove}]` add and remove one label each, leaving the
  others; 204 without a body)
- Date Time picker values `YYYY-MM-DDThh:mm:ss.sTZD`, e.g. `2015-11-18T14:39:00.000+1100`
  (https://developer.atlassian.com/server/jira-servicedesk/info/field-input-formats); select lists
  take `{"value": "<option>"}`; the assignee `{"accountId": ...}`; the priority `{"name": ...}`
- internal comment https://developer.atlassian.com/cloud/jira/service-desk/rest/api-group-request/#api-rest-servicedeskapi-request-issueidorkey-comment-post
  (`/rest/api/3/issue/{key}/comment` always makes a public one on a service project)

Due moments are written in the offset of the moment as the domain computed it (the vendor
calendar's zone: agents read Moscow time), to the millisecond. A due moment that the ticket
already carries within the same minute is not sent again: Jira's own pickers hold minutes, and a
site that keeps less precision than we send must not start an endless write -> webhook -> write loop.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from connector.core.errors import BadInput
from connector.core.ticket import Ticket, WriteBack
from connector.platforms.base import Alert
from connector.platforms.jira_service_management.reading import parse_moment

DUE_FIELDS = ("first_response_due", "resolution_due")


def due_text(moment: datetime | None) -> str | None:
    """A due moment as Jira's Date Time picker takes it (`2024-05-13T18:00:00.000+0300`)."""
    if moment is None:
        return None
    if moment.utcoffset() is None:
        raise BadInput(f"naive due moment {moment.isoformat()}: give a UTC offset")
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}" + moment.strftime("%z")


def same_minute(current: Any, wanted: datetime | None) -> bool:
    """Whether the field's current value and the wanted moment name the same minute (or both none)."""
    now = parse_moment(current)
    if now is None or wanted is None:
        return now is None and wanted is None
    return now.astimezone(UTC).replace(second=0, microsecond=0) == wanted.astimezone(UTC).replace(
        second=0, microsecond=0
    )


def tier_value(tier: str | None, options: Mapping[str, Any]) -> Any:
    """The tier as its field takes it: text, or `{"value": option}` for a select list."""
    if not tier:
        return None
    value = (options.get("tier_values") or {}).get(tier, tier)
    return {"value": value} if options.get("tier_field", "text") == "select" else value


def edit_body(
    ticket: Ticket,
    plan: WriteBack,
    fields: Mapping[str, str],
    tag_prefix: str,
    options: Mapping[str, Any],
    current: Mapping[str, Any],
    assignee_account: str | None,
) -> dict | None:
    """The edit-issue body for the plan's changes (`current` = the issue's fields as read), or
    None when nothing is to be sent. Labels are added and removed by name, so labels the
    connector does not own are never touched; the assignee is set, never cleared."""
    desired, body_fields, labels = plan.desired, {}, []
    if "tier" in plan.changed and fields.get("tier"):
        body_fields[fields["tier"]] = tier_value(desired.tier, options)
    for name in DUE_FIELDS:
        field, wanted = fields.get(name), getattr(desired, name)
        if name in plan.changed and field and not same_minute(current.get(field), wanted):
            body_fields[field] = due_text(wanted)
    if "flags" in plan.changed:
        labels += [{"add": tag_prefix + f} for f in sorted(desired.flags - ticket.carried.flags)]
        labels += [{"remove": tag_prefix + f} for f in sorted(ticket.carried.flags - desired.flags)]
    if assignee_account and assignee_account != (current.get("assignee") or {}).get("accountId"):
        body_fields["assignee"] = {"accountId": assignee_account}
    body: dict[str, Any] = {}
    if body_fields:
        body["fields"] = body_fields
    if labels:
        body["update"] = {"labels": labels}
    return body or None


def note_body(note: str) -> dict[str, Any]:
    """An internal comment (agents only; customers never see it) through the JSM API."""
    return {"body": note, "public": False}


def alert_body(alert: Alert) -> dict[str, Any] | None:
    """The edit-issue body of an SLA alert: labels added by name, the priority by its name."""
    body: dict[str, Any] = {}
    if alert.tags:
        body["update"] = {"labels": [{"add": tag} for tag in sorted(set(alert.tags))]}
    if alert.priority:
        body["fields"] = {"priority": {"name": alert.priority}}
    return body or None
