"""`connector mailing-list`: the contacts entitled to the information mailing, and keeping the
platforms' mailing tag (Zendesk's `options.mailing_tag`) in step with them."""

from __future__ import annotations

import csv
import io
import json

import click

from connector.cli import DATABASE_HELP, short_help
from connector.cli.report import CONFIG_HELP, report_config, write_output
from connector.config.rules import rulebook
from connector.core.errors import BadInput
from connector.reports.formats import spreadsheet_safe
from connector.reports.service import parse_day
from connector.storage import open_database
from connector.storage.mailing import Subscriber, mailing_list
from connector.storage.moments import utcnow

FIELDS = ("email", "name", "customer", "products", "tier", "until")


def _row(s: Subscriber) -> dict:
    sub = s.subscription
    return {
        "email": s.email,
        "name": s.name or "",
        "customer": s.customer,
        "products": list(sub.products),
        "tier": sub.tier.code,
        "until": sub.until.isoformat(),
    }


def to_csv(subscribers: list[Subscriber]) -> bytes:
    """UTF-8 CSV with the header row `email,name,customer,products,tier,until` (spreadsheet-safe)."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(FIELDS)
    for s in subscribers:
        row = _row(s)
        writer.writerow([spreadsheet_safe(";".join(v) if isinstance(v, list) else v) for v in row.values()])
    return out.getvalue().encode("utf-8")


def _sync(config_path: str | None, platform: str | None, dry_run: bool) -> None:
    """Keep the mailing tag on each platform that has one (as `connector kb sync` keeps the KB tag)."""
    from connector.cli.kb import echo_report  # the platforms and services load only for a sync
    from connector.composition import compose, configuration
    from connector.kb.sync import MAILING, sync_platform

    runtime = compose(configuration(config_path))
    try:
        names = [n for n, a in sorted(runtime.adapters.items()) if "mailing" in a.supports]
        if platform is not None:
            if platform not in runtime.adapters:
                raise BadInput(f"platform {platform!r} is not configured")
            names = [platform]
        if not names:
            raise BadInput("no configured platform keeps a mailing tag (set options.mailing_tag on zendesk)")
        dry_run = dry_run or bool(runtime.config.access.get("dry_run"))
        reports = [
            sync_platform(runtime.engine, runtime.rules, runtime.adapters[n], dry_run, "sync", lever=MAILING)
            for n in names
        ]
    finally:
        runtime.close()
    for report in reports:
        echo_report(report)
    if any(r.error or r.failed for r in reports):
        raise SystemExit(1)


@click.command("mailing-list", short_help=short_help("mailing-list"))
@click.option("--product", metavar="CODE", help="Only contacts whose covered products include CODE.")
@click.option("--at", "at_text", metavar="YYYY-MM-DD", help="The day (vendor time; default: today).")
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True)
@click.option("--output", metavar="FILE", help="Write to FILE instead of stdout.")
@click.option(
    "--sync",
    "sync",
    is_flag=True,
    help="Keep each platform's mailing tag (options.mailing_tag) "
    "on exactly the contacts on today's list, instead of printing it; audited (connector kb audit).",
)
@click.option("--platform", help="With --sync: only this platform.")
@click.option("--dry-run", is_flag=True, help="With --sync: print the plan, change nothing.")
@click.option("--config", "config_path", metavar="FILE", envvar="CONNECTOR_CONFIG", help=CONFIG_HELP)
@click.option("--database", "url", metavar="URL", help=DATABASE_HELP)
def mailing_list_command(
    product: str | None,
    at_text: str | None,
    fmt: str,
    output: str | None,
    sync: bool,
    platform: str | None,
    dry_run: bool,
    config_path: str | None,
    url: str | None,
) -> None:
    """Every contact whose customer is under warranty or a contract on the day (the information
    mailing: service packs, updates, new software, events). CSV header:
    email,name,customer,products,tier,until (products: those covered that day, `;`-separated, a
    "*" contract meaning the customer's licensed products; tier: the highest running; until: the
    last day of the latest warranty or contract running that day).

    \b
    Examples:
      connector mailing-list --product KOMPAS --output kompas.csv
      connector mailing-list --sync --dry-run
    """
    if sync:
        if product or at_text or output or url or fmt != "csv":
            raise BadInput(
                "--sync works on today's whole list: no --product, --at, --format, --output or"
                " --database (the config's database is used)"
            )
        _sync(config_path, platform, dry_run)
        return
    if platform or dry_run:
        raise BadInput("--platform and --dry-run go with --sync")
    config = report_config(config_path)
    rules = rulebook(config.policy)
    day = parse_day(at_text, "--at") if at_text else rules.today(utcnow())
    engine = open_database(url or config.database_url)
    try:
        found = mailing_list(engine, day, rules.policy, product)
    finally:
        engine.dispose()
    if fmt == "json":
        data = json.dumps(
            {"at": day.isoformat(), "product": product, "contacts": [_row(s) for s in found]},
            ensure_ascii=False,
            indent=2,
        ).encode("utf-8")
    else:
        data = to_csv(found)
    write_output(data, output)
    if output is not None:
        click.echo(f"wrote {output}: {len(found)} contact(s) on {day}", err=True)


COMMANDS = {"mailing-list": mailing_list_command}
