"""Shared fixtures: the registry fixture files, databases (SQLite and PostgreSQL), the CLI runner."""
from __future__ import annotations

import copy
import json
import os
import uuid
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


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """An empty database: an SQLite file, or a PostgreSQL schema of its own (dropped afterwards).
    Without a reachable PostgreSQL its tests are skipped, except on CI (env CI set), where they fail."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'connector.db'}"
        return
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


@pytest.fixture
def engine(database_url):
    """A migrated engine on the test's database."""
    from connector.storage import open_database

    engine = open_database(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def runner():
    """click's CLI runner (stderr kept apart from stdout)."""
    from click.testing import CliRunner

    return CliRunner()
