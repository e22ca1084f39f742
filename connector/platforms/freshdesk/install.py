"""Setting Freshdesk up to call the connector: three automation rules whose action is "Trigger
webhook", each with a literal `event` and the same body of `{{ticket.*}}` placeholders.

Freshdesk's public API v2 has no endpoint for automation rules (https://developers.freshdesk.com/api/
lists none), so `connector install freshdesk` prints the rules for an admin to create; `--apply`
creates nothing either, it checks the configured custom fields against `GET /api/v2/ticket_fields`.
Freshdesk does not sign webhooks: the rule sends the connector's webhook secret in a
custom header. The rules, the placeholders and what they render to are traced to Freshdesk's own
source in tests/fixtures/freshdesk/automation_rule.md; webhooks/freshdesk/README.md repeats them and
a test keeps the three the same.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connector.platforms.client import PlatformClient

DEFAULT_TOKEN_HEADER = "X-Connector-Token"
BODY = """{
  "event": "%s",
  "ticket": {
    "id": {{ticket.id}},
    "subject": "{{ticket.subject}}",
    "status": "{{ticket.status}}",
    "priority": "{{ticket.priority}}",
    "source": "{{ticket.source}}",
    "type": "{{ticket.ticket_type}}",
    "requester_email": "{{ticket.requester.email}}",
    "company_name": "{{ticket.company.name}}",
    "agent_email": "{{ticket.agent.email}}",
    "group_name": "{{ticket.group.name}}",
    "tags": "{{ticket.tags}}",
    "product": "{{ticket.cf_product}}",
    "url": "{{ticket.url}}"
  }
}"""
# (menu, rule name, who, events, the body's event)
RULES = (
    (
        "Ticket creation",
        "Support entitlement: ticket created",
        None,
        "none (every new ticket), or restrict to the support group/products",
        "ticket_created",
    ),
    (
        "Ticket updates",
        "Support entitlement: ticket updated",
        "Anyone",
        "Status is changed (any to any), Priority is changed, Type is changed, Group is updated, Agent is updated,"
        " Due date is changed, Ticket is Updated, and Product is updated",
        "ticket_updated",
    ),
    (
        "Ticket updates",
        "Support entitlement: conversation added",
        "Anyone",
        "Reply is sent, and Note is added (Type: Any note)",
        "conversation_added",
    ),
)
EVENTS = tuple(rule[-1] for rule in RULES)


def rule_body(event: str) -> str:
    """The Content (Advanced) of one rule's Trigger webhook action."""
    return BODY % event


TEXT_FIELDS = ("first_response_due", "resolution_due")


def field_report(client: PlatformClient, fields: Mapping[str, str]) -> list[str]:
    """What `GET /api/v2/ticket_fields` says of the configured fields: each there (the due fields
    single-line text), or what to create."""
    known = {f.get("name"): f for f in client.call("GET", "/api/v2/ticket_fields") or [] if isinstance(f, Mapping)}
    lines = []
    for ours, name in sorted(fields.items()):
        found = known.get(name)
        if found is None:
            lines.append(
                f"MISSING: fields.{ours} = {name} is not a ticket field; create it (Admin > Workflows >"
                " Ticket fields, webhooks/freshdesk/README.md) or correct the name."
            )
        elif ours in TEXT_FIELDS and found.get("type") != "custom_text":
            lines.append(f"WRONG TYPE: fields.{ours} = {name} is {found.get('type')}; it must be single-line text.")
        else:
            lines.append(f"ok: fields.{ours} = {name} ({found.get('label')}, {found.get('type')})")
    return lines


def admin_steps(
    webhook_url: str, base_url: str, options: Mapping[str, Any], applied: bool, checked: list[str] | None = None
) -> list[str]:
    """The three rules, click by click (the secret itself is never printed), after what the field
    check found (`checked`)."""
    header = str(options.get("token_header") or DEFAULT_TOKEN_HEADER)
    admin = f"{base_url.rstrip('/')}/a/admin" if base_url else "Admin"
    lines = (
        ["Freshdesk's API cannot create automation rules: nothing was created; create these three."] if applied else []
    )
    lines += checked or []
    lines += [
        f"In {admin} > Workflows > Automations create three rules. Each has one action, 'Trigger webhook':",
        f"  Request Type: POST; Callback URL: {webhook_url}; Requires Authentication: off;",
        f"  Add Custom Headers: {header}: <the connector's webhook secret, platforms.freshdesk.webhook_secret_env"
        " or webhook_secret_file>; Encoding: JSON; Content: Advanced, the body shown with the rule.",
    ]
    for number, (menu, name, who, events, event) in enumerate(RULES, 1):
        lines.append(f'Rule {number} - {menu}: "{name}"')
        if who:
            lines.append(f"  When an action performed by: {who}. Involves any of these events: {events}.")
        else:
            lines.append(f"  Conditions: {events}.")
        lines += ["  Content:", *("    " + line for line in rule_body(event).splitlines())]
    lines.append("Then create the custom fields and the API agent as webhooks/freshdesk/README.md says.")
    return lines
