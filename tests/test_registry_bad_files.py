"""Bad registry files are rejected whole: every problem named with its place, nothing half-imported.

Each case first imports the good fixture, then a broken one that also changes a good row: the
database must be exactly as before (on SQLite and on PostgreSQL).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from connector.core.errors import ValidationFailed
from connector.registry.records import LISTS
from connector.storage.registry import read_records
from connector.storage.registry_import import import_registry

REGISTRY_CSV = Path(__file__).parent / "fixtures" / "registry" / "csv"


def stored(engine) -> dict:
    with engine.connect() as conn:
        return {name: read_records(conn, name) for name in LISTS}


def set_path(doc: dict, path: str, value) -> None:
    *parents, last = [int(p) if p.isdigit() else p for p in path.strip("/").split("/")]
    for part in parents:
        doc = doc[part]
    doc[last] = value


JSON_CASES = {
    "unknown reference": (
        lambda d: set_path(d, "/licenses/2/product", "NOPE"),
        ["registry.json /licenses/2/product: unknown product 'NOPE'"],
    ),
    "unknown customer in a contract": (
        lambda d: set_path(d, "/contracts/1/customer", "C-ZETA"),
        ["/contracts/1/customer: unknown customer 'C-ZETA'"],
    ),
    "unknown product in a contract's list": (
        lambda d: set_path(d, "/contracts/1/products", ["KOMPAS", "X"]),
        ["/contracts/1/products/1: unknown product 'X'"],
    ),
    "bad date": (
        lambda d: set_path(d, "/purchases/1/date", "2024-02-30"),
        ["/purchases/1/date: '2024-02-30' is not a valid date"],
    ),
    "date in another format": (
        lambda d: set_path(d, "/licenses/0/since", "15.01.2020"),
        ["/licenses/0/since: '15.01.2020' does not match"],
    ),
    "duplicate key": (
        lambda d: d["contacts"].append({"email": "ANN@alpha.ru", "customer": "C-BETA"}),
        ["/contacts/5: duplicate key email = ann@alpha.ru (first at", "/contacts/0)"],
    ),
    "duplicate purchase": (
        lambda d: d["purchases"].append(dict(d["purchases"][0])),
        ["/purchases/4: duplicate key customer, product, kind, date"],
    ),
    "wrong type": (
        lambda d: set_path(d, "/contracts/0/sla/first_response_hours", "four"),
        ["/contracts/0/sla/first_response_hours: 'four' is not of type 'number'"],
    ),
    "wrong type of a list": (
        lambda d: set_path(d, "/products", {"code": "X"}),
        ["/products: {'code': 'X'} is not of type 'array'"],
    ),
    "missing field": (lambda d: d["licenses"][3].pop("since"), ["/licenses/3: 'since' is a required property"]),
    "unknown field": (
        lambda d: set_path(d, "/products/0/withdrawn", "2025-01-01"),
        ["/products/0: unknown field 'withdrawn' (known: code, name, withdrawn_on)"],
    ),
    "contract ends before it starts": (
        lambda d: set_path(d, "/contracts/0/ends", "2024-12-31"),
        ["/contracts/0/ends: ends (2024-12-31) before it starts (2025-01-01)"],
    ),
    "unknown time zone": (
        lambda d: set_path(d, "/contracts/1/sla/calendar/zone", "Mars/Olympus"),
        ["/contracts/1/sla/calendar: unknown time zone 'Mars/Olympus'"],
    ),
    "one organisation id on two customers": (
        lambda d: set_path(d, "/customers/1/platform_ids", {"zendesk": "1001"}),
        ["customers C-ALPHA and C-BETA both have organisation 1001 on zendesk"],
    ),
}


@pytest.mark.parametrize("case", list(JSON_CASES))
def test_bad_json_is_rejected_with_its_place_and_changes_nothing(case, engine, registry_doc, write_json):
    import_registry(write_json(registry_doc), engine)
    before = stored(engine)
    break_it, expected = JSON_CASES[case]
    registry_doc["products"][1]["name"] = "Vertikal 2025"  # a good change that must not land either
    break_it(registry_doc)
    with pytest.raises(ValidationFailed) as caught:
        import_registry(write_json(registry_doc), engine)
    message = str(caught.value)
    assert "nothing was imported" in message
    for part in expected:
        assert part in message
    assert stored(engine) == before


def test_every_problem_is_listed_at_once(engine, registry_doc, write_json):
    set_path(registry_doc, "/licenses/2/product", "NOPE")
    set_path(registry_doc, "/purchases/1/date", "2024-02-30")
    set_path(registry_doc, "/contracts/0/sla/first_response_hours", "four")
    with pytest.raises(ValidationFailed) as caught:
        import_registry(write_json(registry_doc), engine)
    assert len(caught.value.problems) == 3
    assert all(not rows for rows in stored(engine).values())


@pytest.mark.parametrize(
    "text, expected",
    [
        ("", "empty file"),
        ("  \n", "empty file"),
        ("{", "line 1, column 2: not valid JSON"),
        ("[]", "[] is not of type 'object'"),
        ("{}", "should be non-empty"),
    ],
)
def test_unusable_json_files(engine, write_json, text, expected):
    with pytest.raises(ValidationFailed) as caught:
        import_registry(write_json(text), engine)
    assert expected in str(caught.value)


def _csv_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "csv"
    shutil.copytree(REGISTRY_CSV, folder)
    return folder


def _edit(folder: Path, name: str, old: str, new: str) -> None:
    path = folder / name
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


CSV_CASES = {
    "missing column": (
        lambda f: _edit(f, "licenses.csv", "customer,product,since", "customer,product"),
        ["licenses.csv line 1: missing column 'since'"],
    ),
    "bad date": (
        lambda f: _edit(f, "purchases.csv", "2023-01-10", "2023-13-10"),
        ["purchases.csv line 2, column date: '2023-13-10' is not a valid date"],
    ),
    "wrong type": (
        lambda f: _edit(f, "contracts.csv", "*,24x7,4,", "*,24x7,four,"),
        ["contracts.csv line 2, column sla.first_response_hours: 'four' is not of type 'number'"],
    ),
    "unknown reference": (
        lambda f: _edit(f, "contacts.csv", "bob@beta.ru,C-BETA", "bob@beta.ru,C-NOPE"),
        ["contacts.csv line 3, column customer: unknown customer 'C-NOPE'"],
    ),
    "duplicate key": (
        lambda f: _edit(f, "products.csv", "PILOT,Pilot-ICE,", "KOMPAS,KOMPAS again,"),
        ["products.csv line 5: duplicate key code = KOMPAS (first at", "products.csv line 2)"],
    ),
    "empty file": (lambda f: (f / "products.csv").write_text(""), ["products.csv: empty file"]),
    "unknown column": (
        lambda f: _edit(f, "products.csv", "withdrawn_on", "withdrawn"),
        ["products.csv line 1: unknown column 'withdrawn'"],
    ),
    "unknown file": (
        lambda f: (f / "licences.csv").write_text("customer,product,since\n"),
        ["licences.csv: unknown file"],
    ),
    "short row": (
        lambda f: _edit(f, "licenses.csv", "C-BETA,KOMPAS,2021-01-01", "C-BETA,KOMPAS"),
        ["licenses.csv line 4: 2 cells for 3 columns"],
    ),
}


@pytest.mark.parametrize("case", list(CSV_CASES))
def test_bad_csv_is_rejected_with_its_place_and_changes_nothing(case, engine, tmp_path):
    import_registry(REGISTRY_CSV, engine)
    before = stored(engine)
    folder = _csv_copy(tmp_path)
    _edit(folder, "customers.csv", "Delta Design", "Delta Design Ltd")  # must not land
    break_it, expected = CSV_CASES[case]
    break_it(folder)
    with pytest.raises(ValidationFailed) as caught:
        import_registry(folder, engine)
    for part in expected:
        assert part in str(caught.value)
    assert stored(engine) == before


def test_an_empty_folder_is_rejected(engine, tmp_path):
    with pytest.raises(ValidationFailed, match="no registry CSV files"):
        import_registry(tmp_path, engine)
