"""The connector's database: SQLite by default (no server), PostgreSQL for several instances.

The URL comes from `--database`, else the environment's CONNECTOR_DATABASE_URL, else
`sqlite:///connector.db` in the current directory. Opening migrates to the latest schema (Alembic).
"""
from __future__ import annotations

import os
from pathlib import Path
from threading import Lock

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine

from connector.core.errors import BadInput, ConnectorError

DEFAULT_URL = "sqlite:///connector.db"
MIGRATIONS = Path(__file__).parent / "migrations"
_migrated: set[str] = set()
_migrating = Lock()


def database_url(url: str | None = None) -> str:
    """The database URL to use: the argument, CONNECTOR_DATABASE_URL, or the embedded default."""
    return url or os.environ.get("CONNECTOR_DATABASE_URL") or DEFAULT_URL


def shown(url: sa.URL | str) -> str:
    """The URL for messages and logs, its password hidden."""
    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return "<unparsable URL>"


def create_engine_for(url: str | None) -> Engine:
    """An engine for the URL (psycopg 3 for plain postgresql:// URLs), without migrating."""
    try:
        parsed = sa.make_url(database_url(url))
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")  # the driver we ship
        if parsed.get_backend_name() == "sqlite":
            engine = sa.create_engine(parsed, connect_args={"check_same_thread": False})
            sa.event.listen(engine, "connect", _sqlite_pragmas)
            return engine
        return sa.create_engine(parsed, pool_pre_ping=True)
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ImportError) as exc:
        raise BadInput(f"unusable database URL: {exc}", shown(database_url(url))) from None


def _sqlite_pragmas(dbapi_connection, _record) -> None:


    """Per-connection SQLite settings."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")  # SQLite ignores foreign keys unless asked
    cursor.execute("PRAGMA busy_timeout=10000")  # wait for another process's write, not fail
    # WAL: readers never block the writer, and a commit is one append + fsync of the log
    # (synchronous=FULL keeps every answered webhook on disk, even through a power cut)
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.close()


def migrate(engine: Engine) -> None:
    """Bring the database to the latest migration (idempotent; once per URL per process)."""
    key = engine.url.render_as_string(hide_password=False)
    with _migrating:
        if key in _migrated:
            return
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
        _migrated.add(key)


def open_database(url: str | None = None) -> Engine:
    """A migrated engine for the URL; an unreachable database is a clear error, not a traceback."""
    engine = create_engine_for(url)
    try:
        migrate(engine)
    except sa.exc.OperationalError as exc:
        engine.dispose()
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise ConnectorError(f"cannot open the database: {reason}", shown(engine.url)) from None
    return engine
