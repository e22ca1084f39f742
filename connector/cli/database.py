"""`connector migrate`: the schema migration as a step of its own, for deploy pipelines.

Every command migrates on start-up anyway, under the same lock, so any number of processes may
start at once; a pipeline that runs `connector migrate` first starts the new version's processes
on a schema that is already right, and sees a migration failure as a failed step.
"""

from __future__ import annotations

import click

from connector.cli import short_help
from connector.config.settings import database_url_only
from connector.storage import open_database, revision, shown

HELP_DATABASE = (
    "Database URL (default: the config's database_url, else $CONNECTOR_DATABASE_URL, else sqlite:///connector.db)."
)


@click.command("migrate", short_help=short_help("migrate"))
@click.option(
    "--config",
    "config_path",
    metavar="FILE",
    envvar="CONNECTOR_CONFIG",
    help="TOML config file whose database_url to migrate (default: $CONNECTOR_CONFIG).",
)
@click.option("--database", "url", metavar="URL", help=HELP_DATABASE)
def migrate(config_path: str | None, url: str | None) -> None:
    """Bring the database schema to this version of the connector (Alembic migrations, under a
    PostgreSQL advisory lock: several processes may run it at once, one migrates). Prints the
    revision the database is at."""
    if url is None:  # the config's database_url only: migrating needs no platform's secret
        url = database_url_only(config_path)
    engine = open_database(url)
    try:
        at = revision(engine)
        click.echo(f"{shown(engine.url)}: schema at revision {at}")
    finally:
        engine.dispose()


COMMANDS = {"migrate": migrate}
