"""`connector send-test-event` against a real `connector serve` on loopback, `connector install`,
and serve stopping cleanly on SIGTERM."""

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC

import pytest
import requests

from connector.cli import cli
from tests.support.net import free_port

SECRET = "serve-test-secret-0123456789abcdef"


@pytest.fixture
def config(tmp_path, database_url):
    port = free_port()
    path = tmp_path / "connector.toml"
    path.write_text(
        f'database_url = "{database_url}"\n[server]\nport = {port}\n'
        f'[platforms.zendesk]\nbase_url = "https://acme.zendesk.com"\nwebhook_secret_env = "TEST_ZD_SECRET"\n'
        f'[platforms.zendesk.credentials]\nemail = "a@acme.example"\napi_token = "t"\n'
    )
    return path, port


def test_serve_accepts_a_signed_test_event_and_stops_on_sigterm(config, runner, monkeypatch):
    path, port = config
    env = {**os.environ, "TEST_ZD_SECRET": SECRET}
    server = subprocess.Popen(
        [sys.executable, "-m", "connector", "serve", "--config", str(path), "--workers", "0"],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                assert requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).json()["status"] == "ok"
                break
            except requests.RequestException:
                assert server.poll() is None, server.stderr.read()
                time.sleep(0.1)
        monkeypatch.setenv("TEST_ZD_SECRET", SECRET)
        sent = runner.invoke(cli, ["send-test-event", "zendesk", "--config", str(path), "--ticket", "42"])
        assert sent.exit_code == 0, sent.output
        assert sent.stdout.startswith("HTTP 202") and '"ticket": "42"' in sent.stdout
        health = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).json()
        assert health == {
            "status": "ok",
            "platforms": ["zendesk"],
            "events": {"pending": 1, "processing": 0, "failed": 0},
        }
        events = runner.invoke(cli, ["events", "--config", str(path), "--json"])
        (listed,) = [json.loads(line) for line in events.stdout.splitlines()]
        assert (listed["platform"], listed["ticket"], listed["kind"]) == ("zendesk", "42", "ticket.created")
    finally:
        server.send_signal(signal.SIGTERM)
        code = server.wait(timeout=30)
    log = server.stderr.read()
    assert code == 0 and "connector: stopped" in log  # SIGTERM stops cleanly: workers finish first
    assert SECRET not in log  # secrets never reach the logs


def test_send_test_event_to_nothing_is_a_clear_error(config, runner, monkeypatch):
    path, port = config
    monkeypatch.setenv("TEST_ZD_SECRET", SECRET)
    result = runner.invoke(cli, ["send-test-event", "zendesk", "--config", str(path)])
    assert result.exit_code == 2 and "cannot reach the connector" in result.stderr


def test_install_without_apply_prints_the_clicks_and_never_the_secret(config, runner, monkeypatch):
    path, _ = config
    monkeypatch.setenv("TEST_ZD_SECRET", SECRET)
    result = runner.invoke(cli, ["install", "zendesk", "--config", str(path), "--url", "https://connector.example.com"])
    assert result.exit_code == 0, result.output
    assert "https://connector.example.com/webhooks/zendesk" in result.stdout and SECRET not in result.stdout


def test_install_needs_the_platform_in_the_config(tmp_path, runner):
    path = tmp_path / "empty.toml"
    path.write_text("")
    result = runner.invoke(cli, ["install", "zendesk", "--config", str(path), "--url", "https://c.example"])
    assert result.exit_code == 2 and "[platforms.zendesk]" in result.stderr


def test_events_and_replay_from_the_cli(config, runner, monkeypatch):
    from datetime import datetime, timedelta

    from connector.platforms.base import TicketEvent
    from connector.storage import open_database
    from connector.storage.events import EventStore

    path, _ = config
    monkeypatch.setenv("TEST_ZD_SECRET", SECRET)
    url = path.read_text().split('"')[1]
    engine = open_database(url)
    store = EventStore(engine)
    now = datetime.now(UTC)
    event_id, _ = store.add(TicketEvent("zendesk", "7", "ticket.created", "d1"), b"{}", now)
    claimed = store.claim("w", now, timedelta(seconds=30))
    store.dead_letter(claimed, "w", "HTTP 404: no such ticket", now)
    failed = runner.invoke(cli, ["events", "--config", str(path), "--failed"])
    assert "HTTP 404: no such ticket" in failed.stdout and "failed" in failed.stdout
    assert runner.invoke(cli, ["replay", "--config", str(path), "999"]).exit_code == 2
    replayed = runner.invoke(cli, ["replay", "--config", str(path), str(event_id)])
    assert replayed.exit_code == 0 and "1 event(s) queued again" in replayed.stdout
    assert store.get(event_id).status == "pending"
    engine.dispose()
