"""`connector recompute`: run tickets through the pipeline again (clocks wrong after missed
events, a changed registry), reading each from its platform as a webhook event would."""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Any

import click

from connector.cli import short_help
from connector.composition import Connector, compose, configuration
from connector.core.errors import BadInput, ConnectorError, PlatformError, PlatformRejected
from connector.core.moments import iso

CONFIG_HELP = "TOML config file (default: $CONNECTOR_CONFIG)."


def parse_ticket(text: str, configured: list[str], platform: str | None) -> tuple[str, str]:
    """ "platform:id" (or an id, with --platform or when exactly one platform is configured)."""
    name, sep, ticket_id = text.partition(":")
    if not sep:
        name, ticket_id = platform or "", text
        if not name:
            if len(configured) != 1:
                raise BadInput(
                    f"ticket {text!r}: write it as PLATFORM:ID (configured: "
                    f"{', '.join(configured) or 'none'}), or give --platform"
                )
            name = configured[0]
    elif platform and name != platform:
        raise BadInput(f"ticket {text!r} is not on --platform {platform}")
    ticket_id = ticket_id.strip()
    if not ticket_id:
        raise BadInput(f"ticket {text!r}: no ticket id")
    if name not in configured:
        raise BadInput(
            f"ticket {text!r}: platform {name!r} is not configured (configured: {', '.join(configured) or 'none'})"
        )
    return name, ticket_id


def _due(value: Any) -> str:
    return iso(value) if isinstance(value, datetime) else str(value or "-")


def describe(result: dict[str, Any], dry_run: bool) -> str:
    """One line: tier, due dates, and what changed (or would)."""
    changed = list(result.get("changed") or ()) + (["note"] if result.get("note") else [])
    if not changed:
        what = "no change"
    elif dry_run:
        what = "would change " + ", ".join(changed)
    else:
        what = ("changed " if result.get("written") else "to change (platform wrote nothing): ") + ", ".join(changed)
    return (
        f"{result.get('tier')}; first response due {_due(result.get('first_response_due'))}, "
        f"resolution due {_due(result.get('resolution_due'))}: {what}"
    )


@click.command("recompute", short_help=short_help("recompute"))
@click.argument("tickets", nargs=-1, metavar="[TICKET]...")
@click.option(
    "--all-open", is_flag=True, help="Every ticket whose recorded SLA clocks are not all stopped (instead of TICKETs)."
)
@click.option(
    "--platform",
    metavar="P",
    help="Only this platform's tickets (for --all-open), or the platform of TICKETs given as bare ids.",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Compute and print what would change; write nothing to the platform "
    "(the connector's own record of the clocks is still refreshed).",
)
@click.option("--config", "config_path", metavar="FILE", envvar="CONNECTOR_CONFIG", help=CONFIG_HELP)
def recompute(
    tickets: tuple[str, ...], all_open: bool, platform: str | None, dry_run: bool, config_path: str | None
) -> None:
    """Recompute tickets from their platform and the registry (tier, due dates, flags), write
    back what changed as a webhook event would, and refresh the recorded SLA clocks.

    TICKET is PLATFORM:ID, e.g. zendesk:123 (a bare ID with --platform, or when exactly one
    platform is configured). --all-open takes every ticket whose recorded clocks are not all
    stopped, with progress. One line per ticket on stdout, a summary on stderr.

    Exit code: 0 when all went well; 2 for bad input or an unknown platform (then nothing is
    processed), or for an unknown ticket (the others are still processed); 1 when a ticket
    failed for a transient reason (platform unreachable, rate limited: run it again).
    """
    if tickets and all_open:
        raise click.UsageError("give TICKETs or --all-open, not both")
    if not tickets and not all_open:
        raise click.UsageError("give the TICKETs to recompute (PLATFORM:ID), or --all-open")
    config = configuration(config_path)
    configured = sorted(config.platforms)
    if platform is not None and platform not in configured:
        raise BadInput(f"platform {platform!r} is not configured (configured: {', '.join(configured) or 'none'})")
    wanted = [parse_ticket(t, configured, platform) for t in tickets]  # all checked before any work
    runtime = compose(config)
    try:
        if all_open:
            wanted = runtime.clocks.open_tickets(platform)
        _recompute(runtime, list(dict.fromkeys(wanted)), dry_run, progress=all_open)
    finally:
        runtime.close()


def _recompute(runtime: Connector, wanted: list[tuple[str, str]], dry_run: bool, progress: bool) -> None:
    processor = runtime.processor()
    counts = {"changed": 0, "unchanged": 0, "skipped": 0, "failed": 0}
    worst = 0
    total = len(wanted)
    if progress:
        click.echo(f"{total} open ticket(s) to recompute", err=True)
    for number, (name, ticket_id) in enumerate(wanted, 1):
        prefix = f"[{number}/{total}] " if progress else ""
        label = f"{name}:{ticket_id}"
        adapter = runtime.adapters.get(name)
        if adapter is None:  # recorded clocks of a platform no longer configured
            counts["skipped"] += 1
            click.echo(f"{prefix}{label}: skipped: platform {name!r} is no longer configured")
            continue
        try:
            result = processor.process_ticket(adapter, ticket_id, dry_run=True if dry_run else None)
        except PlatformRejected as exc:
            counts["failed"] += 1
            worst = 2
            unknown = " (no such ticket)" if exc.status == 404 else ""
            click.echo(f"{prefix}{label}: error{unknown}: {exc}", err=True)
            continue
        except PlatformError as exc:
            counts["failed"] += 1
            worst = max(worst, 1)
            click.echo(f"{prefix}{label}: failed (transient, try again): {exc}", err=True)
            continue
        except ConnectorError as exc:
            counts["failed"] += 1
            worst = 2
            click.echo(f"{prefix}{label}: error: {exc}", err=True)
            continue
        except Exception as exc:  # noqa: BLE001 - one ticket's bug must not stop the others
            counts["failed"] += 1
            worst = max(worst, 1)
            click.echo(f"{prefix}{label}: failed: {type(exc).__name__}: {exc}", err=True)
            continue
        effective_dry_run = bool(result.get("dry_run"))
        changed = bool(result.get("changed") or result.get("note"))
        counts["changed" if changed else "unchanged"] += 1
        click.echo(f"{prefix}{label}: {describe(result, effective_dry_run)}")
    click.echo(
        f"recomputed {total} ticket(s): {counts['changed']} with changes, {counts['unchanged']} unchanged, "
        f"{counts['skipped']} skipped, {counts['failed']} failed"
        + (" (dry run: nothing written to the platforms)" if dry_run else ""),
        err=True,
    )
    if worst:
        sys.exit(worst)


COMMANDS = {"recompute": recompute}
