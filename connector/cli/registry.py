"""`connector import`: load the customer registry (a JSON file or a folder of CSV files)."""

from __future__ import annotations

import click

from connector.cli import DATABASE_HELP, short_help
from connector.storage import database_url, open_database, shown
from connector.storage.registry_import import import_registry


@click.command("import", short_help=short_help("import"))
@click.argument("path", type=click.Path(exists=True, readable=True))
@click.option(
    "--replace",
    is_flag=True,
    help="Make the registry equal to the file: rows the file lacks are removed (needs all six lists).",
)
@click.option("--dry-run", is_flag=True, help="Check and count the changes, write nothing.")
@click.option("--database", "url", metavar="URL", help=DATABASE_HELP)
@click.option("-q", "--quiet", is_flag=True, help="No progress messages on stderr.")
def import_command(path: str, replace: bool, dry_run: bool, url: str | None, quiet: bool) -> None:
    """Import the customer registry from PATH: a JSON file (schemas/registry.schema.json) or a
    folder of CSV files (products.csv, customers.csv, contacts.csv, licenses.csv, purchases.csv,
    contracts.csv; header row; nested fields as dotted columns, e.g. sla.first_response_hours).

    Everything is checked first; an invalid registry changes nothing and every problem is listed
    with its place (file, line or JSON pointer, field). Rows are matched by their keys (product
    code, customer id, contact e-mail, contract number, ...): re-importing the same file changes
    nothing. Prints what was created, updated, removed and left unchanged per list.

    \b
    Examples:
      connector import registry.json
      connector import exports/ --replace
      CONNECTOR_DATABASE_URL=postgresql://connector@db/connector connector import registry.json
    """

    def progress(message: str) -> None:
        if not quiet:
            click.echo(message, err=True)

    engine = open_database(url)
    try:
        report = import_registry(path, engine, replace=replace, dry_run=dry_run, progress=progress)
    finally:
        engine.dispose()
    verb = "would change" if dry_run else "imported into"
    click.echo(
        f"{report.source}: {verb} {shown(database_url(url))} in {report.seconds:.1f} s"
        + ("" if report.changed else " (no changes)")
    )
    click.echo(report.table())


COMMANDS = {"import": import_command}
