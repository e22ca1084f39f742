"""`connector report` and the ticket ledger, against the hand-computed scenario of
tests/support/report_scenario.py (its comments hold the arithmetic), on SQLite and PostgreSQL."""

import json
import os
import shutil
import subprocess
from datetime import date, timedelta

import pytest

from connector.config.rules import rulebook
from connector.core.report import MET, MISSED, NO_TARGET, OPEN, outcome
from connector.reports.formats import TICKET_FIELDS, render, spreadsheet_safe, to_csv
from connector.reports.service import make_report
from connector.storage import open_database
from tests.support.report_scenario import EXPECTED_CSV, NOW, REGISTRY, TICKETS, load_scenario, msk

FEB_2, FEB_8 = date(2026, 2, 2), date(2026, 2, 8)


@pytest.fixture
def scenario(engine, tmp_path):
    load_scenario(engine, tmp_path)
    return engine


def test_the_report_matches_the_hand_computed_scenario_row_by_row(scenario):
    report = make_report(scenario, rulebook(), "C-AL", FEB_2, FEB_8, now=NOW)
    lines = to_csv(report).decode("utf-8").split("\r\n")
    assert lines[-1] == ""  # every row ends with CRLF, as RFC 4180 and spreadsheets expect
    assert lines[0] == ",".join(TICKET_FIELDS) == EXPECTED_CSV[0]
    for number, (got, expected) in enumerate(zip(lines[1:-1], EXPECTED_CSV[1:], strict=True), start=1):
        assert got == expected, f"row {number}"


def test_the_summary_counts_shares_and_medians(scenario):
    summary = make_report(scenario, rulebook(), "C-AL", FEB_2, FEB_8, now=NOW).summary
    total = summary.total
    # first response: T1 met, T2 missed, T3 met, T6 missed; resolution: T1 met, T2 open, T3 missed, T6 open
    assert total.tickets == 4
    assert total.first_response == {MET: 2, MISSED: 2, OPEN: 0, NO_TARGET: 0}
    assert total.resolution == {MET: 1, MISSED: 1, OPEN: 2, NO_TARGET: 0}
    assert total.share_met("first_response") == 0.5 and total.share_met("resolution") == 0.5
    # working hours to first response: T1 5, T2 10, T3 4 (T6 has none): median 5
    assert total.median_first_response_hours == 5
    assert sorted(summary.by_tier) == ["individual", "warranty"]
    warranty = summary.by_tier["warranty"]  # T1, T2, T6: median of 5 and 10
    assert (warranty.tickets, warranty.median_first_response_hours) == (3, 7.5)
    assert warranty.share_met("first_response") == pytest.approx(1 / 3)
    assert {k: t.tickets for k, t in summary.by_request_type.items()} == {"error": 2, "information": 1, "proposal": 1}
    assert {k: t.tickets for k, t in summary.by_product.items()} == {"KOMPAS": 3, "PILOT": 1}
    assert summary.by_product["PILOT"].resolution[MISSED] == 1


def test_json_carries_the_same_fields_and_the_summary(scenario):
    doc = json.loads(render(make_report(scenario, rulebook(), "C-AL", FEB_2, FEB_8, now=NOW), "json"))
    assert list(doc) == ["customer", "from", "to", "tickets", "summary"]
    assert (doc["customer"], doc["from"], doc["to"]) == ("C-AL", "2026-02-02", "2026-02-08")
    assert [t["ticket"] for t in doc["tickets"]] == ["1", "2", "3", "6"]
    first = doc["tickets"][0]
    assert list(first) == list(TICKET_FIELDS)
    assert first["paused_hours"] == 8.0 and first["flags"] == [] and first["resolved_at"] == "2026-02-09T12:00:00+03:00"
    assert doc["tickets"][1]["resolved_at"] is None  # an absent moment: null (CSV: an empty cell)
    assert doc["summary"]["total"]["first_response"] == {
        "met": 2,
        "missed": 2,
        "open": 0,
        "no_target": 0,
        "share_met": 0.5,
    }
    assert doc["summary"]["total"]["median_first_response_hours"] == 5.0
    assert doc["summary"]["customer_name"] == "Alpha Design"


def test_every_customer_gets_one_summary_row(scenario):
    report = make_report(scenario, rulebook(), None, FEB_2, FEB_8, now=NOW)
    rows = to_csv(report).decode().splitlines()
    assert rows[0].startswith("customer,name,tickets,first_response_met,")
    # T4 has no customer; C-BE's only ticket (T5) and T7 are created on 02-09, after the period
    assert rows[1:] == [
        ",(no customer identified),1,0,0,0,,0,0,0,,",
        "C-AL,Alpha Design,4,2,2,0,0.5000,1,1,2,0.5000,5.00",
    ]
    doc = json.loads(render(report, "json"))
    assert doc["customer"] is None and [c["customer"] for c in doc["customers"]] == ["", "C-AL"]


def test_the_vendor_zone_decides_the_day(scenario):
    """T7 was created 2026-02-09 00:30 MSK (2026-02-08 in UTC): it belongs to the 9th."""

    def tickets(start, end):
        return [line.entry.ticket_id for line in make_report(scenario, rulebook(), "C-AL", start, end, now=NOW).lines]

    assert tickets(FEB_8, FEB_8) == ["6"]
    assert tickets(date(2026, 2, 9), date(2026, 2, 9)) == ["7"]


def test_the_ledger_row_is_replaced_as_the_ticket_lives(engine, tmp_path):
    store = load_scenario(engine, tmp_path)
    row = store.get("memory", "1")
    assert (row.tier, row.resolution_state, row.requester) == ("warranty", "stopped", "Ann Petrova")
    assert row.resolution_paused == timedelta(hours=8) and row.subject == "ticket 1"
    from tests.support import report_scenario as scn

    reopened = scn._ticket(
        "1",
        "2026-02-02 10:00",
        "ann@alpha.ru",
        "KOMPAS",
        "error",
        ["2026-02-02 15:00"],
        [("2026-02-09 12:00", scn.TicketStatus.SOLVED), ("2026-02-10 11:00", scn.TicketStatus.OPEN)],
    )
    scn.TICKETS[0], saved = reopened, scn.TICKETS[0]
    try:
        load_scenario(engine, tmp_path)
    finally:
        scn.TICKETS[0] = saved
    again = store.get("memory", "1")
    assert (again.resolution_state, again.resolved_at, again.resolution_paused) == ("running", None, timedelta(0))
    assert len(store.recent(100)) == len(TICKETS)  # one row per ticket, however often processed


def test_outcomes_at_the_edges():
    due, target = msk("2026-02-02 18:00"), timedelta(hours=8)
    assert outcome(target, due, due, None, NOW) == MET  # given at the due moment
    assert outcome(target, due, due + timedelta(seconds=1), due, NOW) == MISSED
    assert outcome(target, due, None, None, due - timedelta(seconds=1)) == OPEN
    assert outcome(target, due, None, None, due + timedelta(seconds=1)) == MISSED  # passed since processing
    assert outcome(target, None, None, due, NOW) == MISSED  # breached, then paused: the due is unknown
    assert outcome(None, None, None, None, NOW) == NO_TARGET


def test_csv_cells_cannot_become_spreadsheet_formulas():
    assert [spreadsheet_safe(v) for v in ("=1+1", "+7", "-2", "@SUM(A1)", "-", "ann@alpha.ru")] == [
        "'=1+1",
        "'+7",
        "'-2",
        "'@SUM(A1)",
        "-",
        "ann@alpha.ru",
    ]


def test_the_html_page_puts_the_summary_first_then_the_chart_then_the_table(scenario):
    page = render(make_report(scenario, rulebook(), "C-AL", FEB_2, FEB_8, now=NOW), "html").decode()
    summary, chart, table = page.index("<h2>Summary"), page.index("<svg"), page.index("<h2>Tickets")
    assert summary < chart < table
    assert "Met and missed by week" in page and page.count("<rect") > 3
    assert "http://" not in page.replace("http://www.w3.org/2000/svg", "") and "https://" not in page
    assert "&#39;" not in page and "=2+3@alpha.ru" in page  # HTML shows the value as it is, escaped


def test_registry_values_are_escaped_in_the_page(engine, tmp_path):
    doc = {
        **REGISTRY,
        "customers": [{**REGISTRY["customers"][0], "name": "<script>alert(1)</script>"}, REGISTRY["customers"][1]],
    }
    path = tmp_path / "r.json"
    path.write_text(json.dumps(doc))
    from connector.storage.registry_import import import_registry

    import_registry(path, engine)
    page = render(make_report(engine, rulebook(), "C-AL", FEB_2, FEB_8, now=NOW), "html").decode()
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_the_pdf_is_a_pdf_of_the_page(scenario, tmp_path):
    """Read back with poppler's pdftotext (Debian's poppler-utils, which .ci/run installs)."""
    pdf = render(make_report(scenario, rulebook(), "C-AL", FEB_2, FEB_8, now=NOW), "pdf")
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    if shutil.which("pdftotext") is None:
        if os.environ.get("CI"):
            pytest.fail("pdftotext (poppler-utils) is missing")
        pytest.skip("pdftotext (poppler-utils) is not installed")
    (tmp_path / "r.pdf").write_bytes(pdf)
    text = subprocess.run(
        ["pdftotext", "-layout", str(tmp_path / "r.pdf"), "-"], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert "SLA report: Alpha Design (C-AL)" in text and "Summary" in text and "Tickets" in text
    assert "C-17" in text and "bob@alpha.ru" in text and "missed" in text


# -- the command ---------------------------------------------------------------------------------


@pytest.fixture
def cli_db(tmp_path, migrated_sqlite):
    url = migrated_sqlite("report.db")
    engine = open_database(url)
    load_scenario(engine, tmp_path)
    engine.dispose()
    return url


def test_the_command_writes_each_format(runner, cli_db, tmp_path):
    from connector.cli import cli

    done = runner.invoke(
        cli, ["report", "--customer", "C-AL", "--from", "2026-02-02", "--to", "2026-02-08", "--database", cli_db]
    )
    assert done.exit_code == 0, done.stderr
    assert done.stdout.splitlines()[0] == EXPECTED_CSV[0] and len(done.stdout.splitlines()) == 5
    for fmt, magic in (("pdf", b"%PDF-"), ("html", b"<!doctype html>"), ("json", b"{")):
        out = tmp_path / f"r.{fmt}"
        done = runner.invoke(
            cli,
            [
                "report",
                "--customer",
                "C-AL",
                "--from",
                "2026-02-02",
                "--to",
                "2026-02-08",
                "--format",
                fmt,
                "--output",
                str(out),
                "--database",
                cli_db,
            ],
        )
        assert done.exit_code == 0, done.stderr
        assert out.read_bytes().startswith(magic) and "wrote" in done.stderr and "4 ticket(s)" in done.stderr


def test_the_command_finds_the_database_through_the_config(runner, cli_db, tmp_path):
    from connector.cli import cli

    config = tmp_path / "connector.toml"
    config.write_text(f'database_url = "{cli_db}"\n')
    done = runner.invoke(
        cli,
        ["report", "--all", "--from", "2026-02-01", "--to", "2026-02-28", "--format", "json", "--config", str(config)],
    )
    assert done.exit_code == 0, done.stderr
    assert [c["customer"] for c in json.loads(done.stdout)["customers"]] == ["", "C-AL", "C-BE"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--customer", "NOPE"], "unknown customer 'NOPE'"),
        (
            ["--customer", "C-AL", "--from", "2026-02-09", "--to", "2026-02-08"],
            "--from 2026-02-09 is after --to 2026-02-08",
        ),
        (["--customer", "C-AL", "--from", "2026-02-30"], "--from '2026-02-30' is not a date"),
        (["--customer", "C-AL", "--to", "08.02.2026"], "--to '08.02.2026' is not a date"),
        (["--all", "--customer", "C-AL"], "give --customer ID or --all, not both"),
        ([], "give --customer ID (the registry's customer id), or --all"),
    ],
)
def test_bad_input_is_an_error_and_exit_2(runner, cli_db, args, message):
    from connector.cli import cli

    base = {"--from": "2026-02-02", "--to": "2026-02-08"}
    for i, arg in enumerate(args):
        if arg in base:
            base[arg] = args[i + 1]
    rest = [a for i, a in enumerate(args) if a not in base and (i == 0 or args[i - 1] not in base)]
    done = runner.invoke(cli, ["report", *rest, "--from", base["--from"], "--to", base["--to"], "--database", cli_db])
    assert done.exit_code == 2 and done.stderr.startswith("error: ") and message in done.stderr, done.stderr
