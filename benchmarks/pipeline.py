"""End-to-end processing as users run it: tickets per second from stored Zendesk events to
written-back tickets, against a stub Zendesk (tests/support/stub_platform.py, a process of its
own on loopback) that applies every write, so a redundant write shows.

N tickets, three events each (created, status changed, comment added: the events a ticket's
first minutes bring), are stored, then W worker threads process them with the processor
`connector serve` runs, after-steps as configured by default: the SLA clocks recorded, the
requester's KB access and portal registration kept right (the first event grants and registers,
the later ones find the audit right and call nothing). A warm-up of 50 tickets runs first and is
not timed. Prints the backlog, tickets/s, calls per ticket and writes per ticket.

    python benchmarks/pipeline.py [--tickets N] [--workers W] [--database URL]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
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
from tests.support.stub_platform import FIELDS  # noqa: E402

REGISTRY = ROOT / "tests" / "fixtures" / "zendesk" / "registry.json"  # ticket 123's requester, under warranty
KINDS = ("ticket.created", "ticket.status_changed", "ticket.comment_added")


def store_events(runtime, first: int, tickets: int) -> None:
    """Three events per ticket, as the webhooks would have stored them."""
    now = datetime.now(UTC)
    for n in range(first, first + tickets):
        for kind in KINDS:
            runtime.store.add(TicketEvent("zendesk", str(100000 + n), kind, f"bench-{n}-{kind}"), b"{}", now)


def drain(runtime, processor, workers: int) -> float:
    """Process every stored event with `workers` threads; the seconds it took."""

    def work(name: str) -> None:
        worker = Worker(runtime.store, processor, runtime.config.worker, runtime.metrics, name=name)
        while worker.run_once():
            pass

    started = time.perf_counter()
    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--database", help="database URL (default: a temporary SQLite file)")
    args = parser.parse_args()
    port = free_port()
    stub = subprocess.Popen(
        [sys.executable, "-m", "tests.support.stub_platform", str(port), "--lifetime", "900"],
        cwd=ROOT,
        stderr=subprocess.PIPE,
    )
    warm = 50
    with tempfile.TemporaryDirectory() as tmp:
        try:
            base = f"http://127.0.0.1:{port}"
            wait_up(f"{base}/_log", stub)
            config = config_from_mapping(
                {
                    "database_url": args.database or f"sqlite:///{tmp}/connector.db",
                    "platforms": {
                        "zendesk": {
                            "base_url": base,
                            "webhook_secret": "x" * 32,
                            "fields": FIELDS,
                            "credentials": {"email": "bench@example.com", "api_token": "t"},
                        }
                    },
                },
                Path(tmp),
                "benchmark",
            )  # [access] as by default: KB access and portal registration on
            runtime = compose(config)
            import_registry(REGISTRY, runtime.engine)
            processor = runtime.processor()  # what `connector serve` runs, after-steps included
            store_events(runtime, 0, warm)
            drain(runtime, processor, args.workers)  # warm-up: imports, caches, connections, the grant
            calls_before = len(requests.get(f"{base}/_log", timeout=10).json()["log"])
            store_events(runtime, warm, args.tickets)
            backlog = runtime.store.backlog()
            elapsed = drain(runtime, processor, args.workers)
            counts = runtime.store.counts()
            report = requests.get(f"{base}/_log", timeout=30).json()
            runtime.close()
        finally:
            stub.terminate()
            stub.wait(timeout=30)
    timed = [e for e in report["log"][calls_before:] if e[0] is not None]
    puts: dict[str, int] = {}
    for ticket, kind, *_ in timed:
        if kind == "put":
            puts[ticket] = puts.get(ticket, 0) + 1
    rate = args.tickets / elapsed
    redundant = sum(n - 1 for n in puts.values() if n > 1)
    print(
        f"pipeline: {args.tickets} tickets x {len(KINDS)} events, {args.workers} worker threads, stub Zendesk"
        f" applying writes, {'SQLite' if not args.database else args.database.split(':')[0]}; warm-up {warm} tickets"
    )
    print(f"  backlog    {backlog['pending']} events pending at the start")
    print(f"  processed  {rate:8,.0f} tickets/s  ({elapsed:.1f} s)  (target >= 200/s)")
    print(
        f"  calls      {len(timed) / args.tickets:.2f} platform calls per ticket; writes: {len(puts)} tickets"
        f" written, {redundant} redundant write(s)"
    )
    print(f"  events     {json.dumps(counts)}")
    ok = counts == {"done": (args.tickets + warm) * len(KINDS)} and len(puts) == args.tickets and not redundant
    return 0 if ok and rate >= 200 else 1


if __name__ == "__main__":
    sys.exit(main())
