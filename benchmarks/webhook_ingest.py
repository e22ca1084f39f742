"""Webhook ingest: signed Zendesk events against `connector serve` on loopback, with its
workers running (2 threads processing what arrives, against a stub Zendesk in a process of its
own: tests/support/stub_platform.py), beside a bare Flask endpoint on the same WSGI server
(waitress) in the same run.

Prints, for each: the sustained rate with C concurrent senders, p50/p99 time to answer, then
p50/p99 at a steady 200 requests/s. Every connector answer must be 202 (each event is stored;
each request is a ticket of its own, so the workers have work throughout).

    python benchmarks/webhook_ingest.py [--requests N] [--concurrency C] [--rate R] [--workers W]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from connector.platforms.zendesk.signature import sign  # noqa: E402

SECRET = "benchmark-signing-secret-0123456789"
BODY = (ROOT / "tests" / "fixtures" / "zendesk" / "ticket_status_changed__pending.json").read_bytes()
TICKETS = itertools.count(100000)  # a ticket per request: the workers never wait for one another
BARE_APP = """
import sys, waitress
from flask import Flask
app = Flask("bare")
@app.post("/webhooks/zendesk")
def bare():
    return {"status": "accepted"}, 202
waitress.serve(app, host="127.0.0.1", port=int(sys.argv[1]), threads=8, ident="bare")
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_up(url: str, process: subprocess.Popen, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            error = process.stderr.read().decode() if process.stderr else ""
            raise SystemExit(f"server exited early: {error[-2000:]}")
        try:
            requests.get(url, timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.1)
    raise SystemExit(f"server at {url} did not come up in {seconds} s")


def signed_headers_for(secret: str, ticket: int) -> tuple[bytes, dict]:
    """A status-changed event of `ticket`, and the headers Zendesk signs it with now."""
    doc = json.loads(BODY)
    doc["detail"]["id"] = str(ticket)
    body = json.dumps(doc).encode()
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return body, {
        "Content-Type": "application/json",
        "X-Zendesk-Webhook-Signature-Timestamp": stamp,
        "X-Zendesk-Webhook-Signature": sign(secret, stamp, body),
        "X-Zendesk-Webhook-Invocation-Id": uuid.uuid4().hex,
    }


def blast(url: str, count: int, concurrency: int, rate: float | None) -> tuple[float, list[float], list[int]]:
    """Send `count` requests from `concurrency` threads (paced to `rate`/s overall if given)."""
    latencies: list[float] = []
    statuses: list[int] = []
    lock = threading.Lock()
    per_thread = count // concurrency
    start = time.perf_counter()

    def sender(index: int) -> None:
        session = requests.Session()
        for i in range(per_thread):
            if rate:
                due = start + (i * concurrency + index) / rate
                pause = due - time.perf_counter()
                if pause > 0:
                    time.sleep(pause)
            body, headers = signed_headers_for(SECRET, next(TICKETS))
            t0 = time.perf_counter()
            answer = session.post(url, data=body, headers=headers, timeout=30)
            elapsed = time.perf_counter() - t0
            with lock:
                latencies.append(elapsed)
                statuses.append(answer.status_code)

    threads = [threading.Thread(target=sender, args=(i,)) for i in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return len(latencies) / (time.perf_counter() - start), latencies, statuses


def pct(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100)[int(p) - 1] * 1000 if len(values) > 1 else values[0] * 1000


def measure(name: str, url: str, args) -> dict:
    blast(url, 200, args.concurrency, None)  # warm-up
    rate, latencies, statuses = blast(url, args.requests, args.concurrency, None)
    steady_rate, steady, steady_statuses = blast(url, int(args.rate * 5), 4, args.rate)
    bad = [s for s in statuses + steady_statuses if s != 202]
    print(
        f"  {name:<10} {rate:8,.0f} req/s   p50 {pct(latencies, 50):6.2f} ms  p99 {pct(latencies, 99):6.2f} ms"
        f"   | at {steady_rate:5.0f}/s: p50 {pct(steady, 50):6.2f} ms  p99 {pct(steady, 99):6.2f} ms"
        + (f"   {len(bad)} answers not 202!" if bad else "")
    )
    return {"rate": rate, "p99_steady": pct(steady, 99), "bad": len(bad)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--workers", type=int, default=2, help="worker threads in the serve process")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "connector.toml"
        port, bare_port, stub_port = free_port(), free_port(), free_port()
        fields = "\n".join(
            f"{k} = {3600001 + i}"
            for i, k in enumerate(("tier", "first_response_due", "resolution_due", "product", "request_type", "topic"))
        )
        config.write_text(
            f'database_url = "sqlite:///{tmp}/connector.db"\n[server]\nport = {port}\n'
            f"[worker]\nthreads = {args.workers}\n[alerts]\nenabled = false\n[platforms.zendesk]\n"
            f'base_url = "http://127.0.0.1:{stub_port}"\nwebhook_secret = "{SECRET}"\n'
            f'[platforms.zendesk.credentials]\nemail = "bench@example.com"\napi_token = "unused"\n'
            f"[platforms.zendesk.fields]\n{fields}\n"
        )
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        stub = subprocess.Popen([sys.executable, "-m", "tests.support.stub_platform", str(stub_port)], cwd=ROOT)
        servers = [
            subprocess.Popen(
                [sys.executable, "-m", "connector", "serve", "--config", str(config)],
                stderr=subprocess.PIPE,
                env=env,
                cwd=tmp,
            ),
            subprocess.Popen([sys.executable, "-c", BARE_APP, str(bare_port)], stderr=subprocess.PIPE, env=env),
            stub,
        ]
        try:
            wait_up(f"http://127.0.0.1:{port}/healthz", servers[0])
            wait_up(f"http://127.0.0.1:{bare_port}/", servers[1])
            print(
                f"webhook ingest: {args.requests} signed Zendesk events, {args.concurrency} senders, loopback, waitress"
            )
            ours = measure("connector", f"http://127.0.0.1:{port}/webhooks/zendesk", args)
            bare = measure("bare Flask", f"http://127.0.0.1:{bare_port}/webhooks/zendesk", args)
            stored = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).json()["events"]
            metrics = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
            processed = sum(
                float(line.rsplit(" ", 1)[1])
                for line in metrics.splitlines()
                if line.startswith("connector_events_processed_total{")
            )
        finally:
            for server in servers:
                server.terminate()
                server.wait(timeout=30)
    ratio = ours["rate"] / bare["rate"]
    print(
        f"  ratio      {ratio:8.2f} of the bare endpoint's rate (target >= 0.5); "
        f"p99 at {args.rate:.0f}/s {ours['p99_steady']:.2f} ms (target < 25 ms); backlog at the end: "
        f"{json.dumps(stored)}; processed meanwhile by {args.workers} worker thread(s): {processed:.0f}"
    )
    return 0 if ratio >= 0.5 and ours["p99_steady"] < 25 and not ours["bad"] else 1


if __name__ == "__main__":
    sys.exit(main())
