"""The `connector` command (click, as Flask's own CLI is).

Each command lives in its own module, loaded only when it runs (`connector --help` and
`connector due` must start fast; the web app and the database stack are not loaded for them).
`COMMANDS` is the one list of commands and their one-line help; any `ConnectorError` a command
raises becomes a one-line message on stderr and exit code 2.
"""

from __future__ import annotations

import importlib
import logging
import sys

import click

from connector import __version__
from connector.core.errors import ConnectorError

# name -> (module, one-line help shown by `connector --help`)
COMMANDS: dict[str, tuple[str, str]] = {
    "due": ("connector.cli.due", "Print the due moment HOURS working hours after START."),
    "entitlement": ("connector.cli.entitlement", "Resolve the support tier of a request, and why."),
    "events": ("connector.cli.serve", "List stored webhook events and their status."),
    "import": ("connector.cli.registry", "Import the customer registry (JSON file or CSV folder)."),
    "install": ("connector.cli.platform", "Point a platform's webhooks at this connector (or say how)."),
    "kb": ("connector.cli.kb", "Closed knowledge-base access: sync and audit."),
    "mailing-list": ("connector.cli.mailing", "Contacts entitled to the information mailing; keep its tag."),
    "migrate": ("connector.cli.database", "Bring the database schema to this version (deploy pipelines)."),
    "recompute": ("connector.cli.recompute", "Recompute tickets' tier and due dates from their platform."),
    "replay": ("connector.cli.serve", "Run dead-lettered events again."),
    "report": ("connector.cli.report", "SLA report of a customer's tickets for a period (CSV, JSON, HTML, PDF)."),
    "send-test-event": ("connector.cli.platform", "Send a signed test event to a running connector."),
    "serve": ("connector.cli.serve", "Run webhooks, workers and the scheduler in one process."),
    "worker": ("connector.cli.serve", "Run workers only (scale-out against PostgreSQL)."),
}


DATABASE_HELP = (
    "Database URL (SQLAlchemy form), e.g. sqlite:///connector.db or"
    " postgresql://user@host/db. Default: $CONNECTOR_DATABASE_URL, else sqlite:///connector.db."
)


def short_help(name: str) -> str:
    """A command's one-line help (for its decorator, so the listing and the command agree)."""
    return COMMANDS[name][1]


class ConnectorGroup(click.Group):
    """Loads a command's module when the command runs; reports expected errors without a traceback."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module = importlib.import_module(COMMANDS[cmd_name][0])
        return module.COMMANDS[cmd_name]

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The listing from `COMMANDS`, without loading every command's module."""
        with formatter.section("Commands"):
            formatter.write_dl([(name, help_) for name, (_module, help_) in sorted(COMMANDS.items())])

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except ConnectorError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)


@click.group(cls=ConnectorGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="connector")
@click.option("-v", "--verbose", is_flag=True, help="Log debug details to stderr.")
def cli(verbose: bool) -> None:
    """Support-entitlement connector: support tiers, working-time due dates and KB access
    for the ticketing platform your team already uses."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="connector")
