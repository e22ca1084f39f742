"""The generic platform through a real `connector serve` (waitress, its worker thread, SQLite)
with GLPI's preset against a GLPI-shaped API stub on loopback: the documented, really signed
GLPI delivery in; the login, the reads and exactly the two writes out; a later delivery reads
and writes nothing. Secrets come from a file and the environment, as in production."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from connector.storage import open_database
from connector.storage.events import EventStore
from connector.storage.registry_import import import_registry
from tests.support.net import free_port
from tests.support.stub_tracker import StubTracker, wait_for

FIXTURES = Path(__file__).parent / "fixtures" / "generic"
CONNECTOR = Path(sys.executable).with_name("connector")
SECRET = "Gl9x2Qm4Vt7Rk1Zp8Hs3Wd6Yf0Nb5Lc2Jq7Ue4Ta"
SESSION = "83af7e620c83a50a18d3eac2f6ed05a3ca0bea62"


def api(name):
    return json.loads((FIXTURES / "api" / name).read_text(encoding="utf-8"))


def answers(stub: StubTracker, written: bool) -> None:
    suffix = "_written" if written else ""
    stub.answers.update(
        {
            ("GET", "/apirest.php/initSession"): (200, api("glpi_initsession.json")),
            ("GET", "/apirest.php/Ticket/42"): (200, api(f"glpi_ticket_42{suffix}.json")),
            ("GET", "/apirest.php/Ticket/42/Ticket_User"): (200, api("glpi_ticket_42_ticket_user.json")),
            ("GET", "/apirest.php/User/7/UserEmail"): (200, api("glpi_user_7_useremail.json")),
            ("GET", "/apirest.php/Ticket/42/PluginFieldsTicketsupportentitlement"): (
                200,
                api(f"glpi_ticket_42_fields{suffix}.json"),
            ),
            ("PUT", "/apirest.php/Ticket/42"): (200, api("glpi_ticket_42_updated.json")),
            ("POST", "/apirest.php/ITILFollowup"): (201, api("glpi_followup_created.json")),
        }
    )


@pytest.fixture
def served(tmp_path):
    """A stub GLPI and a `connector serve` pointed at it; yields (stub, connector URL, events)."""
    if not CONNECTOR.exists():
        pytest.fail(f"{CONNECTOR} is missing: install the package (make install)")
    database = f"sqlite:///{tmp_path / 'connector.db'}"
    engine = open_database(database)
    import_registry(FIXTURES / "registry.json", engine)
    (tmp_path / "glpi-webhook-secret").write_text(SECRET + "\n", encoding="utf-8")
    port = free_port()
    with StubTracker() as stub:
        answers(stub, written=False)
        (tmp_path / "connector.toml").write_text(
            f"""
database_url = "{database}"
[server]
port = {port}
[worker]
threads = 1
poll_seconds = 0.1
[alerts]
enabled = false
[access]
kb = false
register_portal_users = false
[platforms.generic]
base_url = "{stub.url}"
webhook_secret_file = "glpi-webhook-secret"
[platforms.generic.credentials]
user_token_env = "TEST_GLPI_USER_TOKEN"
[platforms.generic.options]
preset = "glpi"
time_zone = "Europe/Moscow"
[platforms.generic.options.values.product]
"3" = "kompas_3d"
""",
            encoding="utf-8",
        )
        env = {**os.environ, "TEST_GLPI_USER_TOKEN": "glpi-user-token-for-tests"}
        process = subprocess.Popen(
            [str(CONNECTOR), "serve", "--config", str(tmp_path / "connector.toml")],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:

            def healthy():
                if process.poll() is not None:
                    raise AssertionError(f"connector serve exited: {process.stdout.read().decode()}")
                try:
                    return requests.get(f"{base}/healthz", timeout=1).status_code == 200
                except requests.RequestException:
                    return False

            wait_for(healthy, 60, "connector serve to answer /healthz")
            yield stub, base, EventStore(engine)
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
            engine.dispose()


def glpi_delivery(event="new"):
    headers = json.loads((FIXTURES / "glpi_ticket_created.headers.json").read_text(encoding="utf-8"))
    body = (FIXTURES / "glpi_ticket_created.json").read_bytes()
    if event != "new":
        body = body.replace(b'"event": "new"', f'"event": "{event}"'.encode())
        headers["x-glpi-timestamp"] = "1715583902"
        headers["x-glpi-signature"] = hmac.new(SECRET.encode(), body + b"1715583902", hashlib.sha256).hexdigest()
    return {**headers, "Content-Type": "application/json"}, body


def done(store, event_id):
    event = store.get(event_id)
    return event if event and event.status in ("done", "failed") else None


def test_a_real_connector_serve_writes_exactly_glpis_write_back_once(served):
    stub, base, store = served
    headers, body = glpi_delivery()
    answer = requests.post(f"{base}/webhooks/generic", data=body, headers=headers, timeout=10)
    assert answer.status_code == 202, answer.text
    event = wait_for(lambda: done(store, answer.json()["event_id"]), 60, "the GLPI event to be processed")
    assert event.status == "done", event.last_error
    seen = stub.requests()
    assert [(s.method, s.path) for s in seen] == [
        ("GET", "/apirest.php/initSession"),
        ("GET", "/apirest.php/Ticket/42"),
        ("GET", "/apirest.php/Ticket/42/Ticket_User"),
        ("GET", "/apirest.php/User/7/UserEmail"),
        ("GET", "/apirest.php/Ticket/42/PluginFieldsTicketsupportentitlement"),
        ("PUT", "/apirest.php/Ticket/42"),
        ("POST", "/apirest.php/ITILFollowup"),
    ]
    assert seen[0].headers["Authorization"] == "user_token glpi-user-token-for-tests"
    assert all(s.headers["Session-Token"] == SESSION and "Authorization" not in s.headers for s in seen[1:])
    assert seen[5].body == {
        "input": {
            "time_to_own": "2024-05-13 18:00:00",
            "time_to_resolve": "2024-05-17 18:00:00",
            "supporttierfield": "warranty",
            "_do_not_compute_takeintoaccount": True,
        }
    }
    assert seen[6].body == {
        "input": {
            "itemtype": "Ticket",
            "items_id": "42",
            "is_private": 1,
            "_do_not_compute_takeintoaccount": True,
            "content": "Support tier: warranty. first response due 2024-05-13T18:00:00+03:00, resolution due "
            "2024-05-17T18:00:00+03:00",
        }
    }

    answers(stub, written=True)  # what GLPI answers once the connector has written
    headers, body = glpi_delivery("update")
    again = requests.post(f"{base}/webhooks/generic", data=body, headers=headers, timeout=10)
    assert again.status_code == 202, again.text
    second = wait_for(lambda: done(store, again.json()["event_id"]), 60, "the update event to be processed")
    assert second.status == "done" and second.result["written"] is False and second.result["changed"] == []
    later = stub.requests()[len(seen) :]
    assert [s.method for s in later] == ["GET"] * 4  # the session is kept: no second login, no write
    duplicate = requests.post(f"{base}/webhooks/generic", data=body, headers=headers, timeout=10)
    assert duplicate.status_code == 200 and duplicate.json()["status"] == "duplicate"
