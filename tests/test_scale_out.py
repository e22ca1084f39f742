"""Scale-out for real: `connector serve` and `connector worker` processes on one PostgreSQL (and
one process on SQLite), signed Zendesk events for many tickets, each delivered twice, some out
of order, one worker and one serve killed with -9 mid-run, and the platform (a stub Zendesk in a
process of its own, tests/support/stub_platform.py) failing meanwhile: a 429 burst, 503s, answers
slower than the client's timeout, connection refused, and back.

Then: every event done, none failed (all faults are inside the retry window), one ticket's
processing never overlapping another of its own (the stub logs each read and write with its
time and the event it was made for), every ticket's final fields right, one internal note each.

The issue's target is 3,000 events for 1,000 tickets on PostgreSQL; on this 2-core machine, shared,
the suite runs 1,200 events for 400 tickets (CONNECTOR_SCALE_TICKETS sets the tickets; 3 events each)
to stay within a minute; SQLite, one process, runs a third of that.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from connector.platforms.zendesk.signature import sign
from connector.storage import open_database
from connector.storage.events import EventStore
from connector.storage.registry_import import import_registry
from tests.support.net import free_port
from tests.support.stub_platform import FIELDS

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "zendesk"
SECRET = "scale-out-test-signing-secret-0123456789"
TICKETS = int(os.environ.get("CONNECTOR_SCALE_TICKETS", "400"))
KINDS = ("ticket_created", "ticket_status_changed__pending", "ticket_comment_added__public_agent")
FAULTS: list[dict[str, Any]] = [
    {"from": 1.0, "to": 2.0, "fault": "429"},
    {"from": 3.0, "to": 4.5, "fault": "503"},
    {"from": 5.5, "to": 6.5, "fault": "timeout"},
    {"from": 7.5, "to": 9.0, "fault": "down"},
]
SENDING = 10.0  # seconds the deliveries are spread over at least: the faults meet work
CONNECTOR_FIELDS = (360001, 360002, 360003)  # tier, first response due, resolution due
REFERENCE = "99999"  # a ticket processed once, in this process, with nothing failing: what all must end as
DEADLINE = 150.0


def config_file(folder: Path, url: str, stub: int, port: int, name: str) -> Path:
    path = folder / f"{name}.toml"
    path.write_text(
        f'''database_url = "{url}"
[server]
port = {port}
threads = 6
[worker]
threads = 2
lease_seconds = 3
poll_seconds = 0.1
backoff_base_seconds = 0.3
backoff_cap_seconds = 2
platform_timeout_seconds = 1
[access]
kb = false
register_portal_users = false
[alerts]
enabled = false
[platforms.zendesk]
base_url = "http://127.0.0.1:{stub}"
webhook_secret = "{SECRET}"
[platforms.zendesk.credentials]
email = "connector@ascon.example"
api_token = "t"
[platforms.zendesk.fields]
{chr(10).join(f"{k} = {v}" for k, v in FIELDS.items())}
''',
        encoding="utf-8",
    )
    return path


def deliveries(tickets: int) -> list[tuple[str, bytes]]:
    """(delivery id, body) for 3 events per ticket; each twice; some tickets' events reversed."""
    rng = random.Random(11)
    out = []
    for n in range(tickets):
        ticket = str(100000 + n)
        events = []
        for kind in KINDS:
            doc = json.loads((FIXTURES / f"{kind}.json").read_text(encoding="utf-8"))
            doc["detail"]["id"] = ticket
            doc["id"] = str(uuid.uuid4())
            events.append((f"{ticket}-{kind}", json.dumps(doc).encode()))
        if n % 4 == 0:
            events.reverse()  # out of order
        out += events
    position = {delivery_id: i for i, (delivery_id, _) in enumerate(out)}
    # both deliveries of each event, shuffled within windows: a ticket's events arrive close together
    return sorted(out + out, key=lambda d: position[d[0]] // 90 + rng.random() * 2)


def send(ports: list[int], delivery: tuple[str, bytes], session: requests.Session) -> int:
    """POST to one serve process, the other when it is gone (as a load balancer would)."""
    delivery_id, body = delivery
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    headers = {
        "Content-Type": "application/json",
        "X-Zendesk-Webhook-Invocation-Id": delivery_id,
        "X-Zendesk-Webhook-Signature-Timestamp": stamp,
        "X-Zendesk-Webhook-Signature": sign(SECRET, stamp, body),
    }
    start = hash(delivery_id) % len(ports)
    for attempt in range(20):
        port = ports[(start + attempt) % len(ports)]
        try:
            answer = session.post(f"http://127.0.0.1:{port}/webhooks/zendesk", data=body, headers=headers, timeout=10)
            if answer.status_code in (200, 202):
                return answer.status_code
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise AssertionError(f"delivery {delivery_id} was never accepted")


def start(command: list[str], folder: Path, name: str) -> subprocess.Popen:
    log = open(folder / f"{name}.log", "w")
    return subprocess.Popen(
        [sys.executable, "-m", "connector", *command],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=folder,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def wait_up(port: int, process: subprocess.Popen, folder: Path, name: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, (folder / f"{name}.log").read_text()
        try:
            requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.1)
    raise AssertionError(f"{name} did not come up")


def check_overlaps(log: list[list]) -> list[str]:
    """Tickets where two events' platform calls overlapped in time."""
    runs: dict[tuple[str, str], list[float]] = {}
    for ticket, _kind, _status, begun, ended, event in log:
        if event is None or ticket is None:  # not made for an event, or not a ticket's call
            continue
        span = runs.setdefault((ticket, event), [begun, ended])
        span[0], span[1] = min(span[0], begun), max(span[1], ended)
    by_ticket: dict[str, list[list[float]]] = {}
    for (ticket, _event), span in runs.items():
        by_ticket.setdefault(ticket, []).append(span)
    bad = []
    for ticket, spans in by_ticket.items():
        spans.sort()
        if any(later[0] < earlier[1] for earlier, later in zip(spans, spans[1:], strict=False)):
            bad.append(ticket)
    return bad


def run_scale_out(database_url: str, folder: Path, serves: int, workers: int, tickets: int, kill: bool) -> None:
    engine = open_database(database_url)
    import_registry(FIXTURES / "registry.json", engine)
    stub_port = free_port()
    stub = subprocess.Popen(
        [sys.executable, "-m", "tests.support.stub_platform", str(stub_port), "--lifetime", "300"], cwd=ROOT
    )
    processes: dict[str, subprocess.Popen] = {}
    ports = [free_port() for _ in range(serves)]
    try:
        for i, port in enumerate(ports):
            path = config_file(folder, database_url, stub_port, port, f"serve{i}")
            processes[f"serve{i}"] = start(["serve", "--config", str(path), "--workers", "1"], folder, f"serve{i}")
        for i in range(workers):
            path = config_file(folder, database_url, stub_port, free_port(), f"worker{i}")
            processes[f"worker{i}"] = start(["worker", "--config", str(path)], folder, f"worker{i}")
        for i, port in enumerate(ports):
            wait_up(port, processes[f"serve{i}"], folder, f"serve{i}")
        final = reference(database_url, folder, stub_port)
        requests.post(f"http://127.0.0.1:{stub_port}/_start", json=FAULTS, timeout=5)
        started = time.monotonic()
        todo = deliveries(tickets)
        sent = [0]
        live_ports = list(ports)

        def killer() -> None:  # kill -9 one worker, then one serve, mid-run
            while sent[0] < len(todo) * 0.3:
                time.sleep(0.05)
            if kill and workers:
                processes["worker0"].send_signal(signal.SIGKILL)
            while sent[0] < len(todo) * 0.5:
                time.sleep(0.05)
            if kill and serves > 1:
                processes["serve1"].send_signal(signal.SIGKILL)

        watcher = threading.Thread(target=killer, daemon=True)
        watcher.start()
        local = threading.local()

        def deliver(item):
            index, delivery = item
            if not hasattr(local, "session"):
                local.session = requests.Session()
            pause = started + SENDING * index / len(todo) - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            status = send(live_ports, delivery, local.session)
            sent[0] += 1
            return status

        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(deliver, enumerate(todo)))
        watcher.join(timeout=30)
        store = EventStore(engine)
        while time.monotonic() - started < DEADLINE:
            backlog = store.backlog()
            if backlog["pending"] == backlog["processing"] == 0 and time.monotonic() - started > FAULTS[-1]["to"]:
                break
            time.sleep(0.5)
        elapsed = time.monotonic() - started
        counts = store.counts()
        report = requests.get(f"http://127.0.0.1:{stub_port}/_log", timeout=10).json()
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        stub.terminate()
        stub.wait(timeout=30)
        engine.dispose()
    events = tickets * len(KINDS)
    print(
        f"scale-out: {events} events for {tickets} tickets, {serves} serve + {workers} worker processes,"
        f" {len(todo)} deliveries: {elapsed:.1f} s; {counts}; {len(report['log'])} platform calls"
    )
    # a 202 lost with the killed serve process was retried elsewhere and answered 200 (a duplicate)
    assert set(statuses) <= {200, 202} and len(statuses) == len(todo)
    assert counts == {"done": events}, counts  # every event done; none dead-lettered, none lost
    statuses_seen = {entry[2] for entry in report["log"]}
    seconds = sorted({int(entry[3] - report["started"]) for entry in report["log"] if entry[5]})
    assert {429, 503, 0} <= statuses_seen, (statuses_seen, seconds)  # the faults happened (0: the client gave up)
    logs = "".join(p.read_text() for p in folder.glob("*.log"))
    assert "rate limited; retry in 1.0 s" in logs and "timed out after 1 s" in logs
    assert "cannot reach 127.0.0.1" in logs  # connection refused while the platform was down
    assert check_overlaps(report["log"]) == []
    assert final[360001] == "warranty" and final[360002] == "2024-05-13T18:00:00+03:00" and final[360003]
    written = {k: v for k, v in report["tickets"].items() if k != REFERENCE}
    assert len(written) == tickets
    for ticket_id, ticket in written.items():
        fields = {f["id"]: f["value"] for f in ticket["custom_fields"] if f["id"] in CONNECTOR_FIELDS}
        assert fields == final, (ticket_id, fields)
        assert report["notes"].get(ticket_id) == 1, (ticket_id, report["notes"].get(ticket_id))


def reference(database_url: str, folder: Path, stub_port: int) -> dict:
    """The fields the connector's processor, alone and with nothing failing, computes for the
    stub's ticket (a dry run: the stub's ticket stays unwritten)."""
    from connector.composition import compose, configuration

    runtime = compose(configuration(config_file(folder, database_url, stub_port, free_port(), "reference")))
    try:
        adapter = runtime.adapters["zendesk"]
        deadline = time.monotonic() + 30
        while True:  # the stub may still be starting
            try:
                result = runtime.processor().process_ticket(adapter, REFERENCE, dry_run=True)
                break
            except Exception:  # noqa: BLE001 - retried until the deadline
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
    finally:
        runtime.close()
    return {
        360001: result["tier"],
        360002: result["first_response_due"],  # ISO moments, as written
        360003: result["resolution_due"],
    }


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_serve_and_two_worker_processes_on_postgresql(database_url, tmp_path):
    run_scale_out(database_url, tmp_path, serves=2, workers=2, tickets=TICKETS, kill=True)


def test_one_process_on_sqlite(tmp_path):
    run_scale_out(
        f"sqlite:///{tmp_path / 'connector.db'}",
        tmp_path,
        serves=1,
        workers=0,
        tickets=max(30, TICKETS // 3),
        kill=False,
    )
