"""`connector install rt5`: RT's REST 2 cannot create scrips, so the connector prints exactly
what an RT admin runs (webhooks/rt5/README.md, sections "Install"), and with `--apply` checks
through the API what it can see: the connector's custom fields on the tickets' queues, the
closed-KB group, and that its own user is privileged."""

from __future__ import annotations

from typing import Any

from connector.config.settings import PlatformSettings
from connector.core.errors import PlatformRejected
from connector.platforms.client import PlatformClient

WRITTEN = ("tier", "first_response_due", "flags")


def admin_steps(webhook_url: str, settings: PlatformSettings) -> list[str]:
    """The RT admin's steps, with this connector's URL and user."""
    user = settings.options.get("connector_user") or "connector"
    return [
        "Request Tracker 5 has no outgoing webhooks and its REST 2 cannot create scrips; on the RT host, as root:",
        "  1. cp webhooks/rt5/connector.pm /etc/request-tracker5/RT_SiteConfig.d/connector.pm and set in it:",
        f"       Set($ConnectorWebhookURL, '{webhook_url}');",
        f"       Set($ConnectorRTUser, '{user}');",
        "  2. put the connector's webhook secret (whsec_...) in the file $ConnectorWebhookSecretFile names,",
        "     readable by RT's user (www-data): the same value as platforms.rt5.webhook_secret here",
        "  3. rt-setup-database-5 --action insert --datafile webhooks/rt5/initialdata",
        "     (the scrip, the connector user and its rights, the custom fields, the closed-KB group and class)",
        f"  4. perl webhooks/rt5/connector-token.pl {user}   # the token for platforms.rt5.credentials.token",
        "  5. restart RT (systemctl restart apache2, or your RT server)",
        "Then `connector install rt5 --url ... --apply` checks what the API can see.",
    ]


def check(client: PlatformClient, settings: PlatformSettings) -> list[str]:
    """What exists on RT and what is missing, one line each (a missing piece is an error line)."""
    lines = []
    fields = settings.fields
    names = {fields.get(f, f) for f in WRITTEN}
    found = (
        client.call(
            "POST", "/customfields?fields=Name,Disabled", [{"field": "LookupType", "value": "RT::Queue-RT::Ticket"}]
        )
        or {}
    )
    have = {str(i.get("Name")) for i in found.get("items") or [] if str(i.get("Disabled") or "0") in ("0", "")}
    for name in sorted(names):
        lines.append(
            f"{'ok' if name in have else 'MISSING'}: ticket custom field {name!r}"
            + ("" if name in have else " (run step 3, or create it: Freeform, one value)")
        )
    user = str(settings.options.get("connector_user") or "connector")
    try:
        me = client.call("GET", f"/user/{user}") or {}
    except PlatformRejected as exc:
        me = {}
        lines.append(f"MISSING: RT user {user!r} ({exc})")
    if me:
        privileged = str(me.get("Privileged")) == "1"
        lines.append(f"{'ok' if privileged else 'MISSING'}: {user!r} is {'' if privileged else 'not '}privileged")
    group = settings.options.get("kb_group")
    if group:
        if str(group).isdigit():
            count = 1 if (client.call("GET", f"/group/{group}") or {}).get("id") else 0
        else:
            answer: Any = client.call("POST", "/groups", [{"field": "Name", "value": str(group)}]) or {}
            count = len(answer.get("items") or [])
        lines.append(
            f"{'ok' if count == 1 else 'MISSING'}: closed-KB group {group!r}"
            + ("" if count == 1 else f" ({count} found; run step 3)")
        )
    return lines
