"""Hostile registry files against the importer (SQLite and PostgreSQL): each imports, or is
refused with a `ConnectorError` naming the problem and nothing written. Never a traceback.

Fuzzed with hypothesis on a fixed budget: JSON shapes mutated from the registry fixture, raw
bytes as a JSON file, raw bytes as one CSV file of a folder. The cases found are kept in
tests/fixtures/hostile/import/ and run through `connector import` itself every time: `error: ...`
on stderr, exit code 2, the database unchanged."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connector.cli import cli
from connector.core.errors import ConnectorError
from connector.registry.records import LISTS
from connector.storage import open_database
from connector.storage.registry import read_records
from connector.storage.registry_import import import_registry
from tests.support.hostile import budget, encoded, mutated

FIXTURES = Path(__file__).parent / "fixtures"
REGISTRY_CSV = FIXTURES / "registry" / "csv"
CORPUS = FIXTURES / "hostile" / "import"


def stored(engine) -> dict:
    with engine.connect() as conn:
        return {name: read_records(conn, name) for name in LISTS}


def attempt(path: Path, engine, before: dict) -> None:
    """Import; a refusal must be a ConnectorError that names something and changes nothing."""
    try:
        import_registry(path, engine, dry_run=False)
    except ConnectorError as exc:
        assert str(exc).strip()
        assert stored(engine) == before


def test_mutated_json_registries_import_or_are_refused(engine, tmp_path, registry_doc):
    import_registry(FIXTURES / "registry" / "registry.json", engine)
    path = tmp_path / "registry.json"

    @budget(120)
    @given(st.data())
    def check(data):
        before = stored(engine)
        path.write_bytes(encoded(data.draw, data.draw(mutated(registry_doc))))
        attempt(path, engine, before)

    check()


def test_raw_bytes_as_a_json_registry_are_refused(engine, tmp_path):
    path = tmp_path / "registry.json"

    @budget(100)
    @given(st.binary(max_size=200))
    def check(raw):
        path.write_bytes(raw)
        attempt(path, engine, stored(engine))

    check()


@pytest.mark.parametrize("name", ["contracts", "customers"])
def test_raw_bytes_in_a_csv_file_are_refused_or_imported(engine, tmp_path, name):
    folder = tmp_path / "csv"
    shutil.copytree(REGISTRY_CSV, folder)
    good = (folder / f"{name}.csv").read_bytes()

    @budget(60)
    @given(st.integers(0, len(good)), st.binary(max_size=60), st.integers(0, len(good)))
    def check(cut, junk, resume):
        (folder / f"{name}.csv").write_bytes(good[:cut] + junk + good[resume:])
        attempt(folder, engine, stored(engine))

    check()


def corpus() -> list[Path]:
    return sorted(p for p in CORPUS.iterdir() if not p.name.endswith(".expected"))


@pytest.mark.parametrize("case", corpus(), ids=lambda p: p.name)
def test_the_corpus_is_refused_by_connector_import(case, database_url, runner, tmp_path):
    """`connector import <case>`: exit 2, `error: ...` naming the problem, nothing written."""
    expected = (CORPUS / f"{case.name}.expected").read_text(encoding="utf-8").strip()
    target = case
    if case.is_dir():  # a CSV folder: the good fixture with the case's files over it
        target = tmp_path / "csv"
        shutil.copytree(REGISTRY_CSV, target)
        for file in case.iterdir():
            shutil.copy(file, target / file.name)
    done = runner.invoke(cli, ["import", str(target), "--database", database_url, "-q"])
    assert done.exit_code == 2, done.output
    assert done.stderr.startswith("error: ") and expected in done.stderr, done.stderr
    engine = open_database(database_url)
    try:
        assert all(not rows for rows in stored(engine).values())
    finally:
        engine.dispose()
