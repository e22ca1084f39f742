"""The connector's database: SQLite by default (no server), PostgreSQL for several instances.

The URL comes from `--database`, else the environment's CONNECTOR_DATABASE_URL, else
`sqlite:///connector.db` in the current directory. Opening migrates to the latest schema (Alembic)
under a lock (a PostgreSQL advisory lock; a lock file beside an SQLite file), so any number of
processes may start at once on an empty database: one migrates, the others wait and find it done.
`connector migrate` does the same step on its own, for deploy pipelines.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from threading import Lock
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine

from connector.core.errors import BadInput, ConnectorError

DEFAULT_URL = "sqlite:///connector.db"
MIGRATIONS = Path(__file__).parent / "migrations"
_migrated: set[str] = set()
_migrating = Lock()
# pg_advisory_xact_lock(key, schema) of the schema migration: any constant ("conn" in ASCII), and
# the schema's hash, so installations in two schemas of one database do not wait for each other
MIGRATION_LOCK = 0x636F6E6E


def database_url(url: str | None = None) -> str:
    """The database URL to use: the argument, CONNECTOR_DATABASE_URL, or the embedded default."""
    return url or os.environ.get("CONNECTOR_DATABASE_URL") or DEFAULT_URL


def shown(url: sa.URL | str) -> str:
    """The URL for messages and logs, its password hidden."""
    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return "<unparsable URL>"


def create_engine_for(url: str | None, connections: int = 5) -> Engine:
    """An engine for the URL (psycopg 3 for plain postgresql:// URLs), without migrating.

    `connections` is how many threads of the process use the database at once (web threads,
    workers, their heartbeat, scheduler jobs): the pool keeps that many open, so a busy process
    never opens and closes a PostgreSQL session per request. There is no ping before each use
    (it cost a round trip per transaction); a connection the server dropped is found by its first
    failing statement, and the pool then replaces every connection of that age."""
    try:
        parsed = sa.make_url(database_url(url))
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")  # the driver we ship
        if parsed.get_backend_name() == "sqlite":
            engine = sa.create_engine(parsed, connect_args={"check_same_thread": False})
            sa.event.listen(engine, "connect", _sqlite_pragmas)
            return engine
        return sa.create_engine(
            parsed, pool_size=max(1, connections), max_overflow=max(5, connections // 2), pool_recycle=3600
        )
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ImportError) as exc:
        raise BadInput(f"unusable database URL: {exc}", shown(database_url(url))) from None


def _sqlite_pragmas(dbapi_connection: Any, _record: object) -> None:
    """Per-connection SQLite settings."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")  # SQLite ignores foreign keys unless asked
    cursor.execute("PRAGMA busy_timeout=10000")  # wait for another process's write, not fail
    # WAL: readers never block the writer, and a commit is one append + fsync of the log
    # (synchronous=FULL keeps every answered webhook on disk, even through a power cut)
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.close()


@contextmanager
def _sqlite_file_lock(engine: Engine) -> Iterator[None]:
    """An exclusive lock on `<database file>.migrate.lock` (SQLite's own lock is taken only at the
    first write, after Alembic has read the version: two processes would both create tables)."""
    database = engine.url.database
    if not database or database == ":memory:":
        yield
        return
    import fcntl  # POSIX; the connector runs on Linux and macOS

    with open(f"{database}.migrate.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def migrate(engine: Engine) -> None:
    """Bring the database to the latest migration, under the migration lock (idempotent; once per
    URL per process)."""
    key = engine.url.render_as_string(hide_password=False)
    with _migrating:
        if key in _migrated:
            return
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        if engine.dialect.name == "postgresql":
            with engine.begin() as conn:
                # held to the end of this transaction: the others wait here, then find the schema done
                conn.execute(
                    sa.text("SELECT pg_advisory_xact_lock(:key, hashtext(current_schema()))"), {"key": MIGRATION_LOCK}
                )
                config.attributes["connection"] = conn
                command.upgrade(config, "head")
        else:
            with _sqlite_file_lock(engine), engine.begin() as conn:
                config.attributes["connection"] = conn
                command.upgrade(config, "head")
        _migrated.add(key)


def revision(engine: Engine) -> str | None:
    """The migration the database is at (None before the first)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def open_database(url: str | None = None, connections: int = 5) -> Engine:
    """A migrated engine for the URL; an unreachable database is a clear error, not a traceback."""
    engine = create_engine_for(url, connections)
    try:
        migrate(engine)
    except sa.exc.OperationalError as exc:
        engine.dispose()
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise ConnectorError(f"cannot open the database: {reason}", shown(engine.url)) from None
    return engine
