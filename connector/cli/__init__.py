"""The `connector` command (click, as Flask's own CLI is).

Each command lives in its own module and is registered on the group below; any
`ConnectorError` a command raises becomes a one-line message on stderr and exit code 2.
"""
from __future__ import annotations

import logging
import sys

import click

from connector import __version__
from connector.core.errors import ConnectorError


class ConnectorGroup(click.Group):
    """A click group that reports expected errors without a traceback."""

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
    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")


def _register() -> None:
    from connector.cli import due  # noqa: F401  (each module adds its command to `cli`)
    from connector.cli import entitlement, kb, platform, registry, serve  # noqa: F401
    from connector.cli import recompute  # noqa: F401


_register()


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="connector")
