"""`connector recompute TICKET... | --all-open [--platform P] [--dry-run]`: tickets read again
from their platform and written back (or, dry, only shown), the recorded clocks refreshed;
clear errors for unknown platforms and tickets, other tickets still processed."""

from __future__ import annotations

import pytest
import responses

from connector.cli import cli
from connector.composition import Connector
from connector.config.rules import rulebook
from connector.config.settings import Config
from connector.core.errors import PlatformError
from connector.core.ticket import StatusAt, TicketStatus
from connector.storage import open_database
from connector.storage.clocks import ClockStore
from connector.storage.registry_import import import_registry
from tests.support.alert_scenario import REGISTRY, at, ticket
from tests.support.fakes import FakePlatform
from tests.support.zendesk import BASE, FIELDS, REGISTRY_FILE, expect_ticket_123

ACCESS_OFF = {"kb": False, "register_portal_users": False, "sync_at": "03:00"}


@pytest.fixture
def fake(engine, write_json, monkeypatch):
    """The CLI on a runtime with one fake platform holding tickets 1-3 (3 is solved)."""
    import_registry(write_json(REGISTRY), engine)
    platform = FakePlatform(
        [ticket("1"), ticket("2"), ticket("3", reply=at(12, 11), statuses=[StatusAt(at(12, 12), TicketStatus.SOLVED)])]
    )
    config = Config(platforms={"fake": platform.settings}, access=ACCESS_OFF)
    runtime = Connector(config, engine, {"fake": platform}, rulebook())
    monkeypatch.setattr("connector.cli.recompute.configuration", lambda path: config)
    monkeypatch.setattr("connector.cli.recompute.compose", lambda config: runtime)
    return platform


def test_dry_run_shows_what_would_change_and_writes_nothing(fake, runner, engine):
    result = runner.invoke(cli, ["recompute", "fake:1", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert fake.writes == [] and fake.fetches == 1
    assert result.stdout.startswith(
        "fake:1: warranty; first response due 2025-05-12T18:00:00+03:00, "
        "resolution due 2025-05-16T18:00:00+03:00: would change "
    )
    assert "first_response_due" in result.stdout and "tier" in result.stdout
    assert "recomputed 1 ticket(s): 1 with changes, 0 unchanged, 0 skipped, 0 failed (dry run" in result.stderr
    assert set(ClockStore(engine).clocks("fake", "1")) == {"first_response", "resolution"}  # our own record


def test_recompute_writes_back_and_a_bare_id_names_the_only_platform(fake, runner):
    result = runner.invoke(cli, ["recompute", "1"])
    assert result.exit_code == 0, result.output
    assert [ticket_id for ticket_id, _ in fake.writes] == ["1"]
    assert ": changed " in result.stdout


def test_an_unknown_ticket_is_a_clear_error_and_the_others_are_still_done(fake, runner):
    result = runner.invoke(cli, ["recompute", "fake:404", "fake:2"])
    assert result.exit_code == 2
    assert "fake:404: error (no such ticket): GET /tickets/404: HTTP 404" in result.stderr
    assert [ticket_id for ticket_id, _ in fake.writes] == ["2"]
    assert "1 with changes, 0 unchanged, 0 skipped, 1 failed" in result.stderr


def test_a_transient_failure_exits_1_after_the_others(fake, runner, monkeypatch):
    fetch = fake.fetch_ticket

    def flaky(ticket_id):
        if ticket_id == "1":
            raise PlatformError("GET /tickets/1: HTTP 503: unavailable", 503)
        return fetch(ticket_id)

    monkeypatch.setattr(fake, "fetch_ticket", flaky)
    result = runner.invoke(cli, ["recompute", "fake:1", "fake:2"])
    assert result.exit_code == 1
    assert "fake:1: failed (transient, try again)" in result.stderr and [t for t, _ in fake.writes] == ["2"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["jira:1"], "platform 'jira' is not configured (configured: fake)"),
        (["fake:"], "no ticket id"),
        (["fake:1", "--platform", "zendesk"], "platform 'zendesk' is not configured"),
        ([], "give the TICKETs to recompute (PLATFORM:ID), or --all-open"),
        (["fake:1", "--all-open"], "give TICKETs or --all-open, not both"),
    ],
)
def test_bad_input_is_exit_2_before_any_work(fake, runner, args, message):
    result = runner.invoke(cli, ["recompute", *args])
    assert result.exit_code == 2 and message in result.stderr
    assert fake.fetches == 0


def test_all_open_goes_through_the_tickets_whose_clocks_are_not_all_stopped(fake, runner, engine):
    processor = Connector(Config(access=ACCESS_OFF), engine, {"fake": fake}, rulebook()).processor(
        clock=lambda: at(12, 13)
    )
    for ticket_id in ("1", "2", "3"):
        processor.process_ticket(fake, ticket_id, dry_run=True)
    assert ClockStore(engine).open_tickets() == [("fake", "1"), ("fake", "2")]
    fake.fetches = 0
    result = runner.invoke(cli, ["recompute", "--all-open", "--dry-run", "--platform", "fake"])
    assert result.exit_code == 0, result.output
    assert "2 open ticket(s) to recompute" in result.stderr
    assert [line.split(":")[0:2] for line in result.stdout.splitlines()] == [["[1/2] fake", "1"], ["[2/2] fake", "2"]]
    assert fake.fetches == 2 and fake.writes == []


def test_help_says_what_it_does():
    from click.testing import CliRunner

    text = " ".join(CliRunner().invoke(cli, ["recompute", "--help"]).output.split())
    for words in (
        "PLATFORM:ID",
        "--all-open",
        "--dry-run",
        "--platform",
        "Exit code: 0",
        "not all stopped",
        "unknown ticket (the others are still processed)",
        "write nothing to the platform",
    ):
        assert words in text


# -- for real: Zendesk through its API (responses), the CLI building its own runtime ---------


@responses.activate(assert_all_requests_are_fired=True)
def test_zendesk_dry_run_only_reads(database_url, tmp_path, runner):
    engine = open_database(database_url)
    import_registry(REGISTRY_FILE, engine)
    engine.dispose()
    fields = "".join(f'{k} = "{v}"\n' for k, v in FIELDS.items())
    path = tmp_path / "connector.toml"
    path.write_text(
        f'database_url = "{database_url}"\n[access]\nkb = false\nregister_portal_users = false\n'
        f'[platforms.zendesk]\nbase_url = "{BASE}"\n'
        f'[platforms.zendesk.credentials]\nemail = "connector@ascon.example"\napi_token = "t0k3n-for-tests"\n'
        f"[platforms.zendesk.fields]\n{fields}"
    )
    expect_ticket_123()
    responses.get(f"{BASE}/api/v2/tickets/999.json", status=404, json={"error": "RecordNotFound"})
    result = runner.invoke(cli, ["recompute", "zendesk:123", "999", "--dry-run", "--config", str(path)])
    assert result.exit_code == 2, result.output
    assert result.stdout.startswith("zendesk:123: warranty; first response due 2024-05-13T18:00:00+03:00")
    assert "would change" in result.stdout
    assert "zendesk:999: error (no such ticket)" in result.stderr
    assert all(call.request.method == "GET" for call in responses.calls)
