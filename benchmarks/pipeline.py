"""End-to-end processing: tickets per second from stored Zendesk events to written-back tickets,
against a stub Zendesk (a separate process on loopback that answers at once).

N events for N distinct tickets are stored, then W worker threads process them: each reads the
ticket and its audits from the stub, resolves the entitlement from the registry (SQLite), runs
both SLA clocks and PUTs the changes. Prints tickets/s and checks every ticket was written once.

    python benchmarks/pipeline.py [--tickets N] [--workers W]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.webhook_ingest import free_port, wait_up  # noqa: E402
from connector.composition import compose  # noqa: E402
from connector.config.settings import config_from_mapping  # noqa: E402
from connector.pipeline.worker import Worker  # noqa: E402
from connector.platforms.base import TicketEvent  # noqa: E402
from connector.storage.registry_import import import_registry  # noqa: E402

API = ROOT / "tests" / "fixtures" / "zendesk" / "api"
STUB = """
import json, re, sys, threading, waitress
ticket = json.load(open(sys.argv[2]))
ticket["ticket"]["id"] = 999999999
TICKET = json.dumps(ticket).encode()
audits = json.load(open(sys.argv[3]))
audits["meta"] = {"has_more": False, "after_cursor": None, "before_cursor": None}
AUDITS = json.dumps(audits).encode()
PATH = re.compile(r"^/api/v2/tickets/(\\d+)(/audits)?\\.json$")
puts, lock = {}, threading.Lock()

def app(environ, start_response):
    # a bare WSGI app, so the stub answers at once and the worker is what is measured
    path, method = environ["PATH_INFO"], environ["REQUEST_METHOD"]
    m = PATH.match(path)
    if path == "/puts":
        body = json.dumps({"tickets": len(puts), "writes": sum(puts.values())}).encode()
    elif m and m.group(2):
        body = AUDITS
    elif m:
        if method == "PUT":
            environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            with lock:
                puts[m.group(1)] = puts.get(m.group(1), 0) + 1
        body = TICKET.replace(b"999999999", m.group(1).encode())
    else:
        start_response("404 Not Found", [("Content-Type", "application/json")])
        return [b"{}"]
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]

waitress.serve(app, host="127.0.0.1", port=int(sys.argv[1]), threads=8, ident="stub")
"""
FIELDS = {"tier": "360001", "first_response_due": "360002", "resolution_due": "360003",
          "product": "360004", "request_type": "360005", "topic": "360006"}
REGISTRY = ROOT / "tests" / "fixtures" / "zendesk" / "registry.json"  # ticket 123's requester, under warranty


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    port = free_port()
    stub = subprocess.Popen([sys.executable, "-c", STUB, str(port), str(API / "ticket_123.json"),
                             str(API / "ticket_123_audits.json")], stderr=subprocess.PIPE)
    with tempfile.TemporaryDirectory() as tmp:
        try:
            base = f"http://127.0.0.1:{port}"
            wait_up(f"{base}/puts", stub)
            config = config_from_mapping({
                "database_url": f"sqlite:///{tmp}/connector.db",
                # the stub has no user endpoints: KB access and portal registration are measured
                # by benchmarks/kb_sync.py; the clock recorder (every event) is measured here
                "access": {"kb": False, "register_portal_users": False},
                "platforms": {"zendesk": {"base_url": base, "webhook_secret": "x" * 32, "fields": FIELDS,
                                          "credentials": {"email": "bench@example.com", "api_token": "t"}}}},
                Path(tmp), "benchmark")
            runtime = compose(config)
            import_registry(REGISTRY, runtime.engine)
            now = datetime.now(timezone.utc)
            for i in range(args.tickets):
                runtime.store.add(TicketEvent("zendesk", str(100000 + i), "ticket.created", f"bench-{i}"), b"{}", now)
            processor = runtime.processor()  # what `connector serve` runs, after-steps included
            done = threading.Event()

            def work(name: str) -> None:
                worker = Worker(runtime.store, processor, runtime.config.worker, runtime.metrics, name=name)
                while worker.run_once():
                    pass

            started = time.perf_counter()
            threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(args.workers)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            elapsed = time.perf_counter() - started
            done.set()
            counts = runtime.store.counts()
            puts = requests.get(f"{base}/puts", timeout=5).json()
            runtime.close()
        finally:
            stub.terminate()
            stub.wait(timeout=30)
    rate = args.tickets / elapsed
    print(f"pipeline: {args.tickets} tickets, {args.workers} worker threads, stub Zendesk on loopback, SQLite")
    print(f"  processed  {rate:8,.0f} tickets/s  ({elapsed:.1f} s)  (target >= 200/s)")
    print(f"  events     {json.dumps(counts)}; tickets written {puts['tickets']}, writes {puts['writes']}")
    ok = counts == {"done": args.tickets} and puts == {"tickets": args.tickets, "writes": args.tickets}
    return 0 if ok and rate >= 200 else 1


if __name__ == "__main__":
    sys.exit(main())
