"""`connector report`: SLA outcomes of a customer's tickets (or every customer's) for a period."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from connector.cli import DATABASE_HELP, short_help
from connector.config.rules import rulebook
from connector.config.settings import Config, load_config
from connector.core.errors import BadInput
from connector.reports.formats import FORMATS, render
from connector.reports.service import make_report, parse_day
from connector.storage import open_database

CONFIG_HELP = "TOML config file (default: $CONNECTOR_CONFIG): its policy, and its database unless --database."


def report_config(path: str | None) -> Config:
    """The config file as every command reads it, without building the platforms' adapters to
    check their sections: a report reads only the database and the policy (and starts faster)."""
    return load_config(path)


def write_output(data: bytes, output: str | None) -> None:
    """To the file (a clear error if it cannot be written), else to stdout as bytes."""
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    try:
        Path(output).write_bytes(data)
    except OSError as exc:
        raise BadInput(f"cannot write {output}: {exc.strerror}") from None


@click.command("report", short_help=short_help("report"))
@click.option("--customer", "customer_id", metavar="ID", help="The customer's registry id.")
@click.option("--all", "every", is_flag=True, help="Every customer: one summary row each (instead of --customer).")
@click.option("--from", "start_text", metavar="YYYY-MM-DD", required=True, help="First day (vendor time, included).")
@click.option("--to", "end_text", metavar="YYYY-MM-DD", required=True, help="Last day (vendor time, included).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="csv", show_default=True)
@click.option("--output", metavar="FILE", help="Write to FILE instead of stdout.")
@click.option("--config", "config_path", metavar="FILE", envvar="CONNECTOR_CONFIG", help=CONFIG_HELP)
@click.option("--database", "url", metavar="URL", help=DATABASE_HELP)
def report(
    customer_id: str | None,
    every: bool,
    start_text: str,
    end_text: str,
    fmt: str,
    output: str | None,
    config_path: str | None,
    url: str | None,
) -> None:
    """The tickets created from --from to --to (days in the vendor's zone, both included), each
    with its first-response and resolution outcome: met (given at or before the due moment),
    missed (given after it, or not given and the due moment has passed), open (not given, due
    ahead), or - (the tier sets no target). Then a summary by request type, tier and product:
    counts, the share met (met / (met + missed)) and the median working hours to first response.

    CSV (UTF-8, header row, Excel-safe), JSON, an HTML page (summary, chart, table) or a PDF of
    that page. With --all: one summary row per customer.

    \b
    Examples:
      connector report --customer C-OMEGA --from 2026-01-01 --to 2026-03-31 --format pdf --output q1.pdf
      connector report --all --from 2026-01-01 --to 2026-01-31 --format json
    """
    if every and customer_id is not None:
        raise BadInput("give --customer ID or --all, not both")
    if not every and customer_id is None:
        raise BadInput("give --customer ID (the registry's customer id), or --all for every customer")
    start, end = parse_day(start_text, "--from"), parse_day(end_text, "--to")
    config = report_config(config_path)
    engine = open_database(url or config.database_url)
    try:
        built = make_report(engine, rulebook(config.policy), customer_id, start, end)
    finally:
        engine.dispose()
    write_output(render(built, fmt), output)
    if output is not None:
        what = f"{len(built.customers)} customer(s)" if every else f"{len(built.lines)} ticket(s)"
        click.echo(f"wrote {output}: {what}, {start} to {end}", err=True)


COMMANDS = {"report": report}
