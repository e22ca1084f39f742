"""Setting Zendesk up to call the connector: the webhook definition, its creation through the
Webhooks API, and the clicks an admin makes instead.

Docs: https://developer.zendesk.com/api-reference/webhooks/webhooks-api/webhooks/ (Create or
Clone Webhook, List Webhooks, Show Webhook Signing Secret) and
https://developer.zendesk.com/api-reference/webhooks/event-types/ticket-events/ (event types).
`webhooks/zendesk/webhook.json` is `webhook_definition("https://connector.example.com/webhooks/zendesk")`;
a test keeps the two equal.
"""
from __future__ import annotations

import hmac
import os
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import urlencode

from connector.platforms.client import PlatformClient

WEBHOOK_NAME = "Support entitlement connector"
# The ticket events that can change a ticket's tier or due dates. Our own writes raise
# custom_field_changed too: the worker re-reads the ticket, finds nothing to change, writes nothing.
SUBSCRIPTIONS = (
    "zen:event-type:ticket.created",
    "zen:event-type:ticket.status_changed",
    "zen:event-type:ticket.comment_added",
    "zen:event-type:ticket.requester_changed",
    "zen:event-type:ticket.organization_changed",
    "zen:event-type:ticket.custom_field_changed",
)
EVENT_LABELS = ("Ticket created", "Status changed", "Comment added", "Requester changed",
                "Organization changed", "Custom field changed")


def webhook_definition(webhook_url: str) -> dict[str, Any]:
    """The `{"webhook": ...}` body of Create Webhook for events sent to `webhook_url`."""
    return {"webhook": {
        "name": WEBHOOK_NAME,
        "description": "Ticket events for support tiers and SLA due dates (POST /webhooks/zendesk).",
        "endpoint": webhook_url,
        "http_method": "POST",  # required for event subscriptions
        "request_format": "json",  # required for event subscriptions
        "status": "active",
        "subscriptions": list(SUBSCRIPTIONS),
    }}


def admin_steps(webhook_url: str, base_url: str) -> list[str]:
    """Exactly what an admin clicks in Admin Center to do what `install --apply` does."""
    center = f"{base_url.rstrip('/')}/admin" if base_url else "Admin Center"
    return [
        f"1. Open {center} > Apps and integrations > Webhooks > Webhooks, click 'Create webhook'.",
        "2. Choose 'Zendesk events', then select these ticket events: " + ", ".join(EVENT_LABELS)
        + ". Click Next.",
        f"3. Name: {WEBHOOK_NAME}. Endpoint URL: {webhook_url}. Request method POST and request format"
        " JSON (fixed for events). Authentication: None (Zendesk signs every request). Click 'Create webhook'.",
        "4. Open the new webhook; under 'Signing secret' click 'Reveal secret' and put it in the connector's"
        " config as platforms.zendesk.webhook_secret_env (an environment variable name) or"
        " webhook_secret_file (a file readable only by the connector). Never in the repository.",
        "5. Admin Center > Apps and integrations > APIs > Zendesk API: enable 'Token access', add an API token"
        " and set platforms.zendesk.credentials.email and api_token_env (or api_token_file).",
        "6. Create the custom ticket fields listed in webhooks/zendesk/README.md and put their ids under"
        " platforms.zendesk.fields.",
        "7. Click 'Test webhook' on the webhook, or run the connector with dry_run = true first.",
    ]


def find_existing(client: PlatformClient, webhook_url: str) -> str | None:
    """The id of a webhook of ours already pointing at `webhook_url` (re-running install is safe)."""
    query = urlencode({"filter[name_contains]": WEBHOOK_NAME})
    answer = client.call("GET", f"/api/v2/webhooks?{query}") or {}
    for hook in answer.get("webhooks") or []:
        if hook.get("endpoint") == webhook_url:
            return str(hook["id"])
    return None


def apply(client: PlatformClient, webhook_url: str, configured_secret: str,
          options: Mapping[str, Any]) -> list[str]:
    """Create the webhook (unless it exists) and deal with its signing secret without printing it."""
    lines = []
    hook_id = find_existing(client, webhook_url)
    if hook_id:
        lines.append(f"Webhook {hook_id} already sends ticket events to {webhook_url}; not created again.")
    else:
        created = client.call("POST", "/api/v2/webhooks", webhook_definition(webhook_url), expect=(200, 201))
        hook_id = str(created["webhook"]["id"])
        lines.append(f"Created webhook {hook_id}: {len(SUBSCRIPTIONS)} ticket event types -> {webhook_url}.")
    answer = client.call("GET", f"/api/v2/webhooks/{hook_id}/signing_secret") or {}
    secret = str((answer.get("signing_secret") or {}).get("secret") or "")
    target = options.get("signing_secret_file")
    if secret and target:
        path = Path(target)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(secret + "\n")
        lines.append(f"Wrote the webhook's signing secret to {path} (mode 600);"
                     f" set platforms.zendesk.webhook_secret_file = \"{path}\".")
    elif secret and configured_secret and hmac.compare_digest(secret.encode(), configured_secret.encode()):
        lines.append("The configured webhook_secret matches the webhook's signing secret.")
    else:
        lines.append("Set the webhook's signing secret in the config (webhook_secret_env or webhook_secret_file):"
                     f" Admin Center > Apps and integrations > Webhooks > {WEBHOOK_NAME} > Signing secret >"
                     " Reveal secret. (Or re-run with options.signing_secret_file to have it written for you.)")
    return lines
