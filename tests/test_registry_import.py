"""The registry import on SQLite and PostgreSQL: upsert, re-import, --replace, CSV, all-or-nothing."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

import pytest
import pytz

from connector.config.rules import rulebook
from connector.core.entitlement import EntitlementRequest, resolve
from connector.core.entitlement_json import as_json as entitlement_json
from connector.core.errors import ValidationFailed
from connector.registry.memory import MemoryRegistry
from connector.registry.records import LISTS
from connector.storage.registry import read_records, resolve_stored
from connector.storage.registry_import import import_registry

RULES = rulebook()


def as_json(result):
    """The entitlement JSON, moments in the vendor's zone."""
    return entitlement_json(result, RULES.vendor_calendar.zone)


MSK = pytz.timezone("Europe/Moscow")
REGISTRY_CSV = Path(__file__).parent / "fixtures" / "registry" / "csv"


def stored(engine) -> dict:
    """The whole registry as records, per list."""
    with engine.connect() as conn:
        return {name: read_records(conn, name) for name in LISTS}


def counts(report) -> dict:
    return {name: (c.created, c.updated, c.removed, c.unchanged) for name, c in report.changes.items()}


def test_import_creates_then_reimport_changes_nothing(engine, registry_doc, write_json):
    path = write_json(registry_doc)
    first = import_registry(path, engine)
    assert counts(first) == {
        "products": (4, 0, 0, 0),
        "customers": (4, 0, 0, 0),
        "contacts": (5, 0, 0, 0),
        "licenses": (6, 0, 0, 0),
        "purchases": (4, 0, 0, 0),
        "contracts": (2, 0, 0, 0),
    }
    before = stored(engine)
    again = import_registry(path, engine)
    assert not again.changed and all(c.unchanged for c in again.changes.values())
    assert stored(engine) == before


def test_upsert_updates_changed_rows_and_keeps_the_rest(engine, registry_doc, write_json):
    import_registry(write_json(registry_doc), engine)
    registry_doc["products"][0]["name"] = "KOMPAS-3D v23"
    registry_doc["contacts"][1]["customer"] = "C-DELTA"  # bob moves
    registry_doc["customers"][0]["email_domains"] = ["alpha.ru", "alpha.example"]
    registry_doc["contracts"][1]["sla"]["first_response_hours"] = 12
    report = import_registry(write_json(registry_doc), engine)
    assert counts(report)["products"] == (0, 1, 0, 3)
    assert counts(report)["contacts"] == (0, 1, 0, 4)
    assert counts(report)["customers"] == (0, 1, 0, 3)
    assert counts(report)["contracts"] == (0, 1, 0, 1)
    data = stored(engine)
    assert data["contacts"][("bob@beta.ru",)]["customer"] == "C-DELTA"
    assert data["customers"][("C-ALPHA",)]["email_domains"] == ("alpha.example", "alpha.ru")


def test_a_partial_file_may_reference_stored_rows(engine, registry_doc, write_json):
    import_registry(write_json(registry_doc), engine)
    extra = {"purchases": [{"customer": "C-GAMMA", "product": "VERT", "kind": "product", "date": "2025-05-05"}]}
    report = import_registry(write_json(extra, "more.json"), engine)
    assert list(report.changes) == ["purchases"] and counts(report)["purchases"] == (1, 0, 0, 0)
    assert len(stored(engine)["purchases"]) == 5


def test_replace_makes_the_registry_equal_to_the_file(engine, registry_doc, write_json):
    import_registry(write_json(registry_doc), engine)
    registry_doc["customers"] = [c for c in registry_doc["customers"] if c["id"] != "C-DELTA"]
    for name in ("contacts", "licenses", "purchases", "contracts"):
        registry_doc[name] = [r for r in registry_doc[name] if r["customer"] != "C-DELTA"]
    registry_doc["products"].append({"code": "NEW", "name": "New product"})
    path = write_json(registry_doc)
    report = import_registry(path, engine, replace=True)
    assert counts(report)["customers"] == (0, 0, 1, 3)
    assert counts(report)["contracts"] == (0, 0, 1, 1)
    assert counts(report)["products"] == (1, 0, 0, 4)
    assert stored(engine) == {name: {k: r for k, r in file_records(path)[name].items()} for name in LISTS}


def file_records(path) -> dict:
    """The records a file holds, keyed like the database's."""
    from connector.registry.checks import check_registry
    from connector.registry.records import key_of
    from connector.registry.sources import read_source

    problems, records = check_registry(read_source(path), {}, replace=True)
    assert not problems
    return {name: {key_of(name, r): r for r in rows} for name, rows in records.items()}


def test_replace_needs_every_list(engine, write_json):
    with pytest.raises(ValidationFailed) as caught:
        import_registry(write_json({"products": []}), engine, replace=True)
    assert "missing: customers, contacts, licenses, purchases, contracts" in str(caught.value)


def test_dry_run_writes_nothing(engine, registry_doc, write_json):
    report = import_registry(write_json(registry_doc), engine, dry_run=True)
    assert counts(report)["contacts"] == (5, 0, 0, 0) and not report.applied
    assert all(not rows for rows in stored(engine).values())


def test_csv_folder_imports_the_same_registry(engine, registry_doc, write_json, tmp_path):
    import_registry(write_json(registry_doc), engine)
    folder = tmp_path / "csv"
    shutil.copytree(REGISTRY_CSV, folder)
    report = import_registry(folder, engine)
    assert not report.changed, report.table()


def test_stored_resolution_equals_in_memory_resolution(engine, registry_doc, write_json):
    path = write_json(registry_doc)
    import_registry(path, engine)
    memory = MemoryRegistry.from_file(path)
    cases = [
        ("ann@alpha.ru", "KOMPAS", "2025-03-03T12:00"),
        ("ann@alpha.ru", None, "2025-04-07T12:00"),
        ("someone@shared.ru", None, "2025-03-03T12:00"),
        ("dina@delta.ru", "KOMPAS", "2025-03-03T09:00"),
        ("Gleb@gamma.example", "NOPE", "2025-03-08T12:00"),
        ("ann@alpha.ru", "LOTS", "2025-03-03T12:00"),
        ("x@nowhere.example", None, "2025-03-03T12:00"),
    ]
    for email, product, when in cases:
        request = EntitlementRequest(email, MSK.localize(datetime.fromisoformat(when)), product)
        assert as_json(resolve_stored(request, engine, RULES)) == as_json(resolve(request, memory, RULES)), email


def test_platform_lookup_in_the_database(engine, registry_doc, write_json):
    import_registry(write_json(registry_doc), engine)
    request = EntitlementRequest(
        "x@elsewhere.example", MSK.localize(datetime(2025, 4, 7, 12)), "VERT", platform="jira", org_id="GAMMA"
    )
    result = resolve_stored(request, engine, RULES)
    assert result.customer.id == "C-GAMMA" and result.matched_by == "platform"


def test_migrations_are_idempotent(empty_database_url):
    from connector.storage import MIGRATIONS, _migrated, create_engine_for, migrate, open_database, revision

    empty = create_engine_for(empty_database_url)
    assert revision(empty) is None  # every migration runs, from nothing
    empty.dispose()
    open_database(empty_database_url).dispose()
    _migrated.clear()  # force a second run of Alembic on the same database
    engine = create_engine_for(empty_database_url)
    migrate(engine)
    import sqlalchemy as sa
    from alembic.script import ScriptDirectory

    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == head
    engine.dispose()


def test_large_files_report_progress(tmp_path, registry_doc, write_json):
    from connector.storage import open_database

    registry_doc["contacts"] += [{"email": f"u{n}@alpha.ru", "customer": "C-ALPHA"} for n in range(12_000)]
    engine = open_database(f"sqlite:///{tmp_path / 'big.db'}")
    messages: list[str] = []
    report = import_registry(write_json(registry_doc), engine, progress=messages.append)
    engine.dispose()
    assert report.changes["contacts"].created == 12_005
    assert "contacts: 10,000 of 12,005 created" in messages and "checked 12,005 contacts" in messages
