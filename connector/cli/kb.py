"""`connector kb sync` and `connector kb audit`: closed knowledge-base access."""

from __future__ import annotations

import json

import click

from connector.cli import short_help
from connector.cli.entitlement import parse_moment
from connector.composition import compose, configuration
from connector.config.settings import database_url_only
from connector.core.errors import BadInput
from connector.kb.sync import SyncReport, sync_platform
from connector.storage import open_database
from connector.storage.kb_audit import AccessAudit

CONFIG_HELP = "TOML config file (default: $CONNECTOR_CONFIG)."


@click.group("kb", short_help=short_help("kb"))
def kb() -> None:
    """Closed knowledge-base access for warranty and contract customers.

    Who has it: every contact of a customer whose warranty runs for any product, or whose
    running contract includes KB access. The platforms' levers: a user tag matched by a Help
    Center user segment (Zendesk), a group holding the closed queue's permission (django-helpdesk).
    """


def echo_report(report: SyncReport) -> None:
    """A sync's plan (in a dry run), its failures (stderr) and its summary line."""
    if report.dry_run:
        for change in report.plan:
            click.echo(f"{report.label}: {change.describe()}")
    for change, error in report.failed:
        click.echo(f"{report.label}: FAILED {change.action} {change.email}: {error}", err=True)
    click.echo(report.summary())


@kb.command()
@click.option("--config", "config_path", metavar="FILE", envvar="CONNECTOR_CONFIG", help=CONFIG_HELP)
@click.option("--platform", help="Only this platform (default: every configured platform with a KB lever).")
@click.option("--dry-run", is_flag=True, help="Print the plan (who, grant/revoke, why, since/until); change nothing.")
@click.option("--json", "as_json", is_flag=True, help="One JSON summary per platform (with the plan in a dry run).")
@click.option("-q", "--quiet", is_flag=True, help="No progress messages on stderr.")
def sync(config_path: str | None, platform: str | None, dry_run: bool, as_json: bool, quiet: bool) -> None:
    """Make each platform's KB access match the registry today: plan grants and revokes against
    who holds access on the platform now, then apply them in bulk with progress, recording every
    outcome (`connector kb audit`). Running it twice changes nothing the second time. If the
    platform fails half-way, what was done is recorded and the exit code is 1: run it again to
    resume (it plans against the platform's current state, so nothing is granted twice).
    """
    runtime = compose(configuration(config_path))
    try:
        if platform is not None and platform not in runtime.adapters:
            raise BadInput(
                f"platform {platform!r} is not configured (configured: {', '.join(sorted(runtime.adapters)) or 'none'})"
            )
        names = [platform] if platform else sorted(n for n, a in runtime.adapters.items() if "kb" in a.supports)
        if not names:
            raise BadInput(
                "no configured platform has a knowledge-base lever (configure zendesk, or"
                " django-helpdesk with options.kb_group; see webhooks/<platform>/README.md)"
            )
        if not runtime.config.access.get("kb", True):
            raise BadInput("KB access is switched off in the config ([access] kb = false)")
        dry_run = dry_run or bool(runtime.config.access.get("dry_run"))
        reports = []
        for name in names:

            def progress(done: int, total: int, _name: str = name) -> None:
                if not quiet and total:
                    click.echo(f"{_name}: {done:,} of {total:,} change(s) applied", err=True)

            report = sync_platform(
                runtime.engine, runtime.rules, runtime.adapters[name], dry_run, "sync", progress=progress
            )
            reports.append(report)
            if as_json:
                click.echo(json.dumps(report.as_json()))
                continue
            echo_report(report)
    finally:
        runtime.close()
    if any(r.error or r.failed for r in reports):
        raise SystemExit(1)


@kb.command()
@click.option("--config", "config_path", metavar="FILE", envvar="CONNECTOR_CONFIG", help=CONFIG_HELP)
@click.option("--customer", help="Only this customer id.")
@click.option("--email", help="Only this contact.")
@click.option("--platform", help="Only this platform.")
@click.option(
    "--since",
    "since_text",
    metavar="DATE",
    help="From this date (YYYY-MM-DD, its start in the vendor's zone) or moment (ISO 8601).",
)
@click.option("--limit", type=click.IntRange(1, 10_000_000), help="Only the latest N entries.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def audit(
    config_path: str | None,
    customer: str | None,
    email: str | None,
    platform: str | None,
    since_text: str | None,
    limit: int | None,
    as_json: bool,
) -> None:
    """List every recorded grant, revoke and portal registration, oldest first: when, platform,
    who (customer), what, result, why, and the access period."""
    since = parse_moment(since_text, "--since") if since_text is not None else None
    engine = open_database(database_url_only(config_path))
    count = 0
    try:
        for entry in AccessAudit(engine).entries(customer, since, email, platform, limit):
            count += 1
            if as_json:
                click.echo(json.dumps(entry.as_json()))
                continue
            span = f" [{entry.since or '...'} .. {entry.until or 'open-ended'}]" if entry.since or entry.until else ""
            detail = f" ({entry.detail})" if entry.detail else ""
            click.echo(
                f"{entry.at:%Y-%m-%d %H:%M:%S}  {entry.platform:<16} {entry.action:<8} {entry.result:<7}"
                f" {entry.email} ({entry.customer_id or '-'}){span}: {entry.reason}{detail}  [{entry.origin}]"
            )
    finally:
        engine.dispose()
    if not count and not as_json:
        click.echo("no entries", err=True)


COMMANDS = {"kb": kb}
