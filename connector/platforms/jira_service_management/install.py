"""Setting Jira Service Management up to call the connector: the admin webhook (a JQL filter, the
issue and comment events, a secret), created through `POST /rest/webhooks/1.0/webhook` or by hand.

Docs: https://developer.atlassian.com/cloud/jira/platform/webhooks/ ("Registering a webhook using
the REST API": `name`, `url`, `events`, `filters["issue-related-events-section"]` = the JQL,
`excludeBody`, `secret`; the answer's `self` ends with the webhook's id and `isSigned` is true when
a secret is set). Only admin webhooks carry a secret (dynamic `/rest/api/3/webhook` ones do not).
`webhooks/jira-service-management/webhook.json` is `webhook_definition(EXAMPLE_URL, EXAMPLE_JQL)`
without the secret; a test keeps the two equal.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connector.core.errors import BadInput, PlatformError
from connector.platforms.client import PlatformClient

WEBHOOK_NAME = "Support entitlement connector"
EVENTS = ("jira:issue_created", "jira:issue_updated", "comment_created")
EVENT_LABELS = "Issue: created, updated; Comment: created"
EXAMPLE_URL = "https://connector.example.com/webhooks/jira-service-management"
EXAMPLE_JQL = "project = SUP"


def webhook_definition(webhook_url: str, jql: str, secret: str | None = None) -> dict[str, Any]:
    """The body of `POST /rest/webhooks/1.0/webhook` (the secret only when given)."""
    definition: dict[str, Any] = {
        "name": WEBHOOK_NAME,
        "description": "Support tier and SLA due dates (POST /webhooks/jira-service-management).",
        "url": webhook_url,
        "events": list(EVENTS),
        "filters": {"issue-related-events-section": jql},
        "excludeBody": False,
    }
    if secret is not None:
        definition["secret"] = secret
    return definition


def jql_of(options: Mapping[str, Any], where: str) -> str:
    """The JQL filter from options.jql; BadInput naming the key when it is missing."""
    jql = str(options.get("jql") or "").strip()
    if not jql:
        raise BadInput(
            'set the JQL that selects the support project\'s issues, e.g. jql = "project = SUP"', f"{where}.options.jql"
        )
    return jql


def check_fields(client: PlatformClient, fields: Mapping[str, str], where: str) -> str:
    """Every configured field exists on the site (`GET /rest/api/3/field`) and the due fields are
    Date Time pickers; BadInput naming the key otherwise. The line to print."""
    known = {f.get("id"): f for f in client.call("GET", "/rest/api/3/field") or [] if isinstance(f, Mapping)}
    for name, field_id in sorted(fields.items()):
        found = known.get(field_id)
        if found is None:
            raise BadInput(
                f"the site has no field {field_id}: create it (webhooks/jira-service-management/README.md)"
                " or correct the id",
                f"{where}.fields.{name}",
            )
        custom = str((found.get("schema") or {}).get("custom") or "")
        if name in ("first_response_due", "resolution_due") and not custom.endswith(":datetime"):
            raise BadInput(
                f"{field_id} ({found.get('name')}) is not a Date Time Picker field", f"{where}.fields.{name}"
            )
    return "Fields: " + ", ".join(f"{name} = {fid} ({known[fid].get('name')})" for name, fid in sorted(fields.items()))


def apply(
    client: PlatformClient,
    webhook_url: str,
    secret: str,
    options: Mapping[str, Any],
    where: str,
    fields: Mapping[str, str],
) -> list[str]:
    """Check the fields, then create the admin webhook, signed with the connector's webhook secret."""
    jql = jql_of(options, where)
    if not secret:
        raise BadInput(
            "configure the webhook secret first (webhook_secret_env or webhook_secret_file): the"
            " connector refuses unsigned deliveries",
            f"{where}.webhook_secret",
        )
    checked = check_fields(client, fields, where)
    created = (
        client.call(
            "POST", "/rest/webhooks/1.0/webhook", webhook_definition(webhook_url, jql, secret), expect=(200, 201)
        )
        or {}
    )
    self_url = str(created.get("self") or "")
    if not self_url:
        raise PlatformError("POST /rest/webhooks/1.0/webhook: no webhook in the answer")
    hook_id = self_url.rstrip("/").rsplit("/", 1)[-1]
    lines = [
        checked + ": all there, the due fields Date Time pickers.",
        f"Created admin webhook {hook_id}: {', '.join(EVENTS)} for `{jql}` -> {webhook_url}.",
    ]
    if created.get("isSigned") is False:
        lines.append(
            "Jira says the webhook is NOT signed: its deliveries will be refused (401). Set its"
            " secret in Settings > System > WebHooks."
        )
    else:
        lines.append("It is signed with the configured webhook secret (X-Hub-Signature: sha256=...).")
    lines.append("Running --apply again creates a second webhook: remove duplicates in Settings > System > WebHooks.")
    return lines


def admin_steps(webhook_url: str, base_url: str, options: Mapping[str, Any]) -> list[str]:
    """Exactly what an admin clicks to do what `install --apply` does."""
    site = base_url.rstrip("/") if base_url else "https://<your-site>.atlassian.net"
    jql = str(options.get("jql") or "").strip() or "project = <your service project key>"
    return [
        f"1. Open {site}/plugins/servlet/webhooks (Settings > System > WebHooks) and click 'Create a WebHook'.",
        f"2. Name: {WEBHOOK_NAME}. Status: Enabled. URL: {webhook_url}.",
        "3. Secret: the connector's webhook secret (platforms.jira-service-management.webhook_secret_env or"
        ' webhook_secret_file, at least 16 characters; e.g. python3 -c "import secrets;'
        ' print(secrets.token_urlsafe(32))"). Jira then signs every delivery (X-Hub-Signature: sha256=...).',
        f"4. Events: {EVENT_LABELS}. JQL (issue related events): {jql}. Leave 'Exclude body' unchecked.",
        "5. Create. Or let the connector do steps 1-5: set options.jql and run"
        " `connector install jira-service-management --url URL --apply` (needs a Jira administrator's API token).",
        "6. Create the custom fields and the API user as webhooks/jira-service-management/README.md says,"
        " and put the field ids (customfield_NNNNN) under platforms.jira-service-management.fields.",
    ]
