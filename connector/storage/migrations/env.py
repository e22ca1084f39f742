"""Alembic environment: migrate the connection the connector hands over, or CONNECTOR_DATABASE_URL
when run from the `alembic` command line (`alembic -c connector/storage/alembic.ini upgrade head`)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from connector.storage.tables import metadata

config = context.config


def _run(connection: Connection) -> None:
    # batch mode lets later migrations alter tables on SQLite, which lacks most ALTER TABLE forms
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


if config.attributes.get("connection") is not None:
    _run(config.attributes["connection"])
else:
    from connector.storage import create_engine_for

    with create_engine_for(None).begin() as conn:
        _run(conn)
