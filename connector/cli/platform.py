"""`connector install PLATFORM` and `connector send-test-event PLATFORM`."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import click
import requests

from connector.cli import short_help
from connector.composition import configuration
from connector.core.errors import BadInput
from connector.platforms import adapter_class, platform_names
from connector.platforms.base import Adapter

CONFIG_HELP = "TOML config file (default: $CONNECTOR_CONFIG)."


def _adapter(platform: str, config_path: str | None) -> tuple[Adapter, dict]:
    config = configuration(config_path)
    settings = config.platforms.get(platform)
    if settings is None:
        raise BadInput(f"platform {platform!r} has no [platforms.{platform}] section in the config ({config.source})")
    return adapter_class(platform)(settings), dict(config.server)


@click.command("install", short_help=short_help("install"))
@click.argument("platform", type=click.Choice(platform_names()))
@click.option("--config", "config_path", metavar="FILE", envvar="CONNECTOR_CONFIG", help=CONFIG_HELP)
@click.option(
    "--url",
    "public_url",
    metavar="URL",
    required=True,
    help="The connector's public base URL as the platform reaches it, e.g. https://connector.example.com",
)
@click.option(
    "--apply",
    is_flag=True,
    help="Create the webhook through the platform's API (where it has one); "
    "without it, print exactly what an admin must do.",
)
def install(platform: str, config_path: str | None, public_url: str, apply: bool) -> None:
    """Point PLATFORM's webhooks at this connector (or say how), with its secret from the config."""
    adapter, _server = _adapter(platform, config_path)
    if not adapter.settings.webhook_secret:
        raise BadInput(
            f"set platforms.{platform}.webhook_secret (or _env/_file) first: "
            "without it the connector refuses every delivery"
        )
    url = f"{public_url.rstrip('/')}/webhooks/{platform}"
    for line in adapter.install(url, apply):
        click.echo(line)


@click.command("send-test-event", short_help=short_help("send-test-event"))
@click.argument("platform", type=click.Choice(platform_names()))
@click.option("--config", "config_path", metavar="FILE", envvar="CONNECTOR_CONFIG", help=CONFIG_HELP)
@click.option("--ticket", default="1", show_default=True, help="Ticket id the test event names.")
@click.option("--url", "base_url", metavar="URL", help="The connector to send to (default: the config's server).")
def send_test_event(platform: str, config_path: str | None, ticket: str, base_url: str | None) -> None:
    """Send a test event, signed as PLATFORM signs, to a running connector and print its answer."""
    adapter, server = _adapter(platform, config_path)
    headers, body, token = adapter.sample_delivery(ticket, datetime.now(UTC))
    base = (base_url or f"http://{server['host']}:{server['port']}").rstrip("/")
    try:
        answer = requests.post(
            f"{base}/webhooks/{platform}",
            data=body,
            headers=headers,
            params={"token": token} if token else None,
            timeout=10,
        )
    except requests.RequestException as exc:
        raise BadInput(f"cannot reach the connector at {base}: {type(exc).__name__}") from None
    click.echo(f"HTTP {answer.status_code} {json.dumps(answer.json()) if answer.content else ''}")
    if answer.status_code >= 400:
        raise SystemExit(1)


COMMANDS = {"install": install, "send-test-event": send_test_event}
