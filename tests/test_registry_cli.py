"""`connector import` and `connector entitlement` through click's runner: output, exit codes, no tracebacks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from connector.cli import cli

FIXTURES = Path(__file__).parent / "fixtures" / "registry"
REGISTRY_JSON, REGISTRY_CSV = FIXTURES / "registry.json", FIXTURES / "csv"


@pytest.fixture
def db(migrated_sqlite) -> str:
    return migrated_sqlite("cli.db")


def run(runner, *args, env=None):
    return runner.invoke(cli, [str(a) for a in args], env=env, catch_exceptions=False)


def test_import_prints_the_changes_and_reimport_none(runner, db):
    first = run(runner, "import", REGISTRY_JSON, "--database", db)
    assert first.exit_code == 0, first.output
    assert "contacts          5        0        0          0" in first.stdout
    again = run(runner, "import", REGISTRY_CSV, "--database", db)
    assert again.exit_code == 0 and "(no changes)" in again.stdout
    assert "contacts          0        0        0          5" in again.stdout


def test_database_comes_from_the_environment(runner, tmp_path):
    url = f"sqlite:///{tmp_path / 'env.db'}"
    result = run(runner, "import", REGISTRY_JSON, env={"CONNECTOR_DATABASE_URL": url})
    assert result.exit_code == 0 and url in result.stdout
    assert (tmp_path / "env.db").exists()


def test_dry_run_and_replace(runner, db, tmp_path):
    assert run(runner, "import", REGISTRY_JSON, "--database", db, "--dry-run").exit_code == 0
    assert "contacts          5" in run(runner, "import", REGISTRY_JSON, "--database", db).stdout
    doc = json.loads(REGISTRY_JSON.read_text())
    doc["contacts"] = doc["contacts"][:2]
    smaller = tmp_path / "smaller.json"
    smaller.write_text(json.dumps(doc))
    result = run(runner, "import", smaller, "--database", db, "--replace")
    assert result.exit_code == 0 and "contacts          0        0        3          2" in result.stdout


def test_a_bad_file_exits_2_with_every_place_and_no_traceback(runner, db, tmp_path):
    doc = json.loads(REGISTRY_JSON.read_text())
    doc["licenses"][0]["product"] = "NOPE"
    doc["purchases"][0]["date"] = "2023-02-30"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    result = run(runner, "import", bad, "--database", db)
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ") and "Traceback" not in result.output
    assert "bad.json /licenses/0/product: unknown product 'NOPE'" in result.stderr
    assert "bad.json /purchases/0/date: '2023-02-30' is not a valid date" in result.stderr


@pytest.mark.parametrize(
    "url, message",
    [
        ("nonsense://x", "unusable database URL"),
        ("postgresql://nobody:secret@127.0.0.1:1/none", "cannot open the database"),
    ],
)
def test_an_unusable_database_exits_2_without_showing_the_password(runner, url, message):
    result = run(runner, "import", REGISTRY_JSON, "--database", url)
    assert result.exit_code == 2 and message in result.stderr and "secret" not in result.output


def test_entitlement_json(runner, db):
    run(runner, "import", REGISTRY_JSON, "--database", db)
    result = run(
        runner,
        "entitlement",
        "--email",
        "Ann@Alpha.ru",
        "--product",
        "KOMPAS",
        "--at",
        "2025-03-03T12:00:00+03:00",
        "--database",
        db,
        "--json",
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["tier"] == "warranty" and doc["first_response_hours"] == 8 and doc["resolution_hours"] == 40
    assert doc["kb_access"] is True and doc["valid_until"] == "2025-03-15"
    assert doc["flags"] == ["warranty_expiring_soon"] and doc["customer"]["id"] == "C-ALPHA"
    assert doc["product"] == "KOMPAS" and doc["first_response_due"] == "2025-03-04T12:00:00+03:00"
    assert doc["reasons"]
    assert doc["customer_kb_access"] == {
        "granted": True,
        "until": "2025-03-15",
        "reason": "warranty of KOMPAS (bought 2024-03-15) runs up to 2025-03-15",
    }


def test_entitlement_summary_from_a_registry_file(runner):
    result = run(
        runner,
        "entitlement",
        "--email",
        "ann@alpha.ru",
        "--at",
        "2025-04-07T12:00:00+03:00",
        "--request-type",
        "information",
        "--topic",
        "functionality",
        "--registry",
        REGISTRY_JSON,
    )
    assert result.exit_code == 0, result.output
    assert "tier:           basic" in result.stdout
    assert "outside_tier_scope:" in result.stdout and "unknown_product:" in result.stdout
    assert "first response: 16 working hours, due 2025-04-09T12:00:00+03:00 (basic)" in result.stdout
    assert "resolution:     not regulated" in result.stdout
    assert "KB access:      no: the warranty of KOMPAS (bought 2024-03-15) has ended" in result.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (["--at", "yesterday"], "is not a date (YYYY-MM-DD) or an ISO 8601 moment"),
        (["--at", "2025-03-03T12:00:00"], "has no UTC offset"),
        (["--email", "not-an-address"], "is not an e-mail address"),
    ],
)
def test_entitlement_bad_input_exits_2(runner, args, message):
    base = {"--email": "ann@alpha.ru", "--at": "2025-03-03"}
    base.update(dict(zip(args[::2], args[1::2], strict=True)))
    result = run(runner, "entitlement", *[x for kv in base.items() for x in kv], "--registry", REGISTRY_JSON)
    assert result.exit_code == 2 and message in result.stderr and "Traceback" not in result.output


def test_help_texts_describe_the_commands(runner):
    assert "CSV" in run(runner, "import", "--help").stdout
    assert "--request-type" in run(runner, "entitlement", "--help").stdout
