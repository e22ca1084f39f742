"""Setting Zendesk up to call the connector: the webhook definition, its creation through the
Webhooks API, and the clicks an admin makes instead.

Docs: https://developer.zendesk.com/api-reference/webhooks/webhooks-api/webhooks/ (Create or
Clone Webhook, List Webhooks, Show Webhook Signing Secret) and
https://developer.zendesk.com/api-reference/webhooks/event-types/ticket-events/ (event types);
the closed knowledge base's user segment through the Help Center API,
https://developer.zendesk.com/api-reference/help_center/help-center-api/user_segments/ (List User
Segments with `built_in=false` and cursor pagination, Create User Segment: `user_type`
`signed_in_users`, `tags` = every tag a user must hold; https://support.zendesk.com/hc/en-us/articles/4408837707290:
a tag counts when it is on the user *or on an organization they belong to*, so the KB tag must
stay off organizations), and user tagging https://support.zendesk.com/hc/en-us/articles/203662006
(Admin Center > People > Configuration > End users > Tags on users and organizations: Enabled).
`webhooks/zendesk/webhook.json` is `webhook_definition("https://connector.example.com/webhooks/zendesk")`;
a test keeps the two equal.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from connector.platforms.client import PlatformClient
from connector.platforms.zendesk.kb_lever import DEFAULT_KB_TAG

WEBHOOK_NAME = "Support entitlement connector"
DEFAULT_SEGMENT_NAME = "Closed knowledge base"
MAX_SEGMENT_PAGES = 50  # 100 segments a page
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
EVENT_LABELS = (
    "Ticket created",
    "Status changed",
    "Comment added",
    "Requester changed",
    "Organization changed",
    "Custom field changed",
)


def webhook_definition(webhook_url: str) -> dict[str, Any]:
    """The `{"webhook": ...}` body of Create Webhook for events sent to `webhook_url`."""
    return {
        "webhook": {
            "name": WEBHOOK_NAME,
            "description": "Ticket events for support tiers and SLA due dates (POST /webhooks/zendesk).",
            "endpoint": webhook_url,
            "http_method": "POST",  # required for event subscriptions
            "request_format": "json",  # required for event subscriptions
            "status": "active",
            "subscriptions": list(SUBSCRIPTIONS),
        }
    }


def kb_names(options: Mapping[str, Any]) -> tuple[str, str]:
    """The KB tag and the user segment's name from the options."""
    return (str(options.get("kb_tag") or DEFAULT_KB_TAG), str(options.get("kb_segment_name") or DEFAULT_SEGMENT_NAME))


def segment_definition(options: Mapping[str, Any]) -> dict[str, Any]:
    """The `{"user_segment": ...}` body of Create User Segment: signed-in users holding the KB tag."""
    tag, name = kb_names(options)
    return {"user_segment": {"name": name, "user_type": "signed_in_users", "tags": [tag]}}


def find_segment(client: PlatformClient, tag: str) -> Mapping[str, Any] | None:
    """A custom user segment of signed-in users that requires exactly the KB tag, if one exists."""
    params = {"built_in": "false", "page[size]": "100"}
    for _ in range(MAX_SEGMENT_PAGES):
        page = client.call("GET", f"/api/v2/help_center/user_segments?{urlencode(params)}") or {}
        for segment in page.get("user_segments") or []:
            if (
                segment.get("user_type") == "signed_in_users"
                and list(segment.get("tags") or []) == [tag]
                and not segment.get("or_tags")
                and not segment.get("group_ids")
                and not segment.get("organization_ids")
            ):
                return segment
        meta = page.get("meta") or {}
        if not (meta.get("has_more") and meta.get("after_cursor")):
            return None
        params = {**params, "page[after]": meta["after_cursor"]}
    return None


def ensure_user_segment(client: PlatformClient, options: Mapping[str, Any]) -> list[str]:
    """Create the closed-KB user segment unless one with the KB tag exists; the lines to print."""
    tag, name = kb_names(options)
    existing = find_segment(client, tag)
    if existing is not None:
        segment_id, what = (
            existing.get("id"),
            f"User segment {existing.get('id')} ({existing.get('name')!r})"
            f" already matches signed-in users tagged {tag}; not created again.",
        )
    else:
        created = (
            client.call("POST", "/api/v2/help_center/user_segments", segment_definition(options), expect=(200, 201))
            or {}
        )
        segment_id = (created.get("user_segment") or {}).get("id")
        what = f"Created user segment {segment_id} ({name!r}): signed-in users tagged {tag}."
    return [
        what,
        f"Restrict the closed knowledge-base sections to it: Guide > Manage articles > Sections >"
        f" each closed section > Visible to: {name} (segment {segment_id}). Check that tags on users are"
        " enabled (Admin Center > People > Configuration > End users > Tags on users and organizations)"
        f" and never put the tag {tag} on an organization (its members would all get the closed KB).",
    ]


def admin_steps(webhook_url: str, base_url: str, options: Mapping[str, Any] | None = None) -> list[str]:
    """Exactly what an admin clicks in Admin Center to do what `install --apply` does."""
    center = f"{base_url.rstrip('/')}/admin" if base_url else "Admin Center"
    tag, name = kb_names(options or {})
    return [
        f"1. Open {center} > Apps and integrations > Webhooks > Webhooks, click 'Create webhook'.",
        "2. Choose 'Zendesk events', then select these ticket events: " + ", ".join(EVENT_LABELS) + ". Click Next.",
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
        f"8. Closed knowledge base: {center} > People > Configuration > End users > 'Tags on users and"
        f" organizations': Enabled. Then create the user segment (Admin Center > People > End users > User"
        f" segments, or Guide admin > User permissions): 'Add user segment', name '{name}', user type"
        f" 'Signed-in users', Tags: users must have '{tag}'. Save. Restrict every closed knowledge-base section to"
        f" it (section > Edit > Visible to: {name}). The connector adds and removes the tag '{tag}' on users;"
        f" never put it on an organization.",
    ]


def find_existing(client: PlatformClient, webhook_url: str) -> str | None:
    """The id of a webhook of ours already pointing at `webhook_url` (re-running install is safe)."""
    query = urlencode({"filter[name_contains]": WEBHOOK_NAME})
    answer = client.call("GET", f"/api/v2/webhooks?{query}") or {}
    for hook in answer.get("webhooks") or []:
        if hook.get("endpoint") == webhook_url:
            return str(hook["id"])
    return None


def apply(client: PlatformClient, webhook_url: str, configured_secret: str, options: Mapping[str, Any]) -> list[str]:
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
        lines.append(
            f"Wrote the webhook's signing secret to {path} (mode 600);"
            f' set platforms.zendesk.webhook_secret_file = "{path}".'
        )
    elif secret and configured_secret and hmac.compare_digest(secret.encode(), configured_secret.encode()):
        lines.append("The configured webhook_secret matches the webhook's signing secret.")
    else:
        lines.append(
            "Set the webhook's signing secret in the config (webhook_secret_env or webhook_secret_file):"
            f" Admin Center > Apps and integrations > Webhooks > {WEBHOOK_NAME} > Signing secret >"
            " Reveal secret. (Or re-run with options.signing_secret_file to have it written for you.)"
        )
    return lines
