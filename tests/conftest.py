"""Shared fixtures: the registry fixture files, databases (SQLite and PostgreSQL), the CLI runner."""

from __future__ import annotations

import copy
import json
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support.paths import REGISTRY_JSON

# Fixtures of their own modules, for every test module (never imported by the tests themselves):
# a real django-helpdesk (`helpdesk_site`) and a real Redmine with `connector serve` (`redmine_live`).
pytest_plugins = ["tests.helpdesk_fixture", "tests.redmine_fixture"]

# The suite's PostgreSQL (the same on developers' machines and CI); each test gets its own schema.
POSTGRES_URL = os.environ.get("CONNECTOR_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture(autouse=True)
def fresh_calendar_caches():
    """Each test starts with the module-level calendar and rulebook caches empty. Their calendars
    keep state (the years laid out so far, a warning given once), so a test otherwise ran on what
    earlier tests left: test_the_latest_purchase_counts took 1.7 s after test_calendar's 900,000
    hours had laid out centuries of the cached default calendar, 0.04 s on a fresh one.
    The caches of what cannot change stay: the shipped RU production calendar (read-only data),
    the RU holidays of a year, the JSON Schema validators, the compiled claim statement."""
    from connector.config import calendars, rules
    from connector.registry import checks

    for cached in (calendars._builtin, rules._calendar, rules.rulebook, checks._built):
        cached.cache_clear()


@pytest.fixture(autouse=True)
def no_lost_leases():
    """Event ids start at 1 in every test's database, while the set of events whose lease a
    heartbeat found lost is the process's: each test starts with it empty."""
    from connector.platforms import client

    with client._lost_lock:
        client._lost.clear()


@pytest.fixture(autouse=True)
def unexpected_http_calls():
    """Under `responses`, a request that matches nothing registered fails the test, even where the
    code under test caught the ConnectionError for it (tests/support/http.py). The list of them."""
    from tests.support.http import unexpected_calls

    with unexpected_calls() as found:
        yield found
    if found:
        pytest.fail(f"unexpected HTTP call(s) under responses: {found}", pytrace=False)


@pytest.fixture
def registry_doc() -> dict:
    """A fresh copy of the registry fixture document (tests may change it)."""
    return copy.deepcopy(json.loads(REGISTRY_JSON.read_text(encoding="utf-8")))


@pytest.fixture
def write_json(tmp_path):
    """Write a document as a JSON file in the test's folder; returns its path."""

    def write(doc, name: str = "registry.json") -> Path:
        path = tmp_path / name
        path.write_text(doc if isinstance(doc, str) else json.dumps(doc, ensure_ascii=False), encoding="utf-8")
        return path

    return write


def _postgres_schema_url(schema: str) -> str:
    sep = "&" if "?" in POSTGRES_URL else "?"
    return f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema}"


@contextmanager
def _postgres_schema() -> Iterator[str]:
    """The URL of a PostgreSQL schema of the test's own, empty, dropped afterwards. Without a
    reachable PostgreSQL the test is skipped, except on CI (env CI set), where it fails."""
    import sqlalchemy as sa

    admin = sa.create_engine(POSTGRES_URL)
    schema = f"test_{uuid.uuid4().hex[:12]}"
    try:
        with admin.begin() as conn:
            conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    except sa.exc.OperationalError as exc:
        admin.dispose()
        reason = f"PostgreSQL unreachable at {POSTGRES_URL}: {str(exc.orig).strip().splitlines()[0]}"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    try:
        yield _postgres_schema_url(schema)
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture(scope="session")
def migrated_sqlite_template(tmp_path_factory) -> Path:
    """An SQLite file migrated to the latest revision once per session; tests copy it
    (tests/support/databases.py) instead of running every migration again."""
    from connector.storage import open_database

    path = tmp_path_factory.mktemp("template") / "migrated.db"
    open_database(f"sqlite:///{path}").dispose()  # the last connection folds the WAL into the file
    assert not path.with_name(path.name + "-wal").exists()
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """A database of the test's own: a copy of the session's migrated SQLite file (the connector
    opening it still runs Alembic, which finds it at the latest revision), or an empty PostgreSQL
    schema (migrated by whoever opens it first; dropped afterwards). PostgreSQL has no template
    of a schema, and a database per test made from a migrated template (CREATE DATABASE ...
    TEMPLATE) measured no faster here than migrating a schema: copying a database's catalogs
    costs what the migrations do. For the tests of migrating itself, `empty_database_url`."""
    if request.param == "sqlite":
        from tests.support.databases import copy_sqlite

        yield copy_sqlite(request.getfixturevalue("migrated_sqlite_template"), tmp_path / "connector.db")
        return
    with _postgres_schema() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database_url(request, tmp_path):
    """An empty database (no table yet): an SQLite file, or a PostgreSQL schema of its own (dropped
    afterwards), for the tests that migrate from nothing."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'connector.db'}"
        return
    with _postgres_schema() as url:
        yield url


@pytest.fixture
def engine(database_url):
    """A migrated engine on the test's database."""
    from connector.storage import open_database

    engine = open_database(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def migrated_sqlite(migrated_sqlite_template, tmp_path):
    """`migrated_sqlite(name="connector.db")`: the URL of a copy of the migrated SQLite template in
    the test's folder (for tests that configure an SQLite file of their own)."""
    from tests.support.databases import copy_sqlite

    return lambda name="connector.db": copy_sqlite(migrated_sqlite_template, tmp_path / name)


@pytest.fixture
def runner():
    """click's CLI runner (stderr kept apart from stdout)."""
    from click.testing import CliRunner

    return CliRunner()
