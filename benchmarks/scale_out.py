"""Scale-out on PostgreSQL: tickets/s, CPU per event and transactions per ticket for 1, 2 and 4
`connector worker` processes on one database, beside one process on SQLite, in one run; the p99
webhook answer at a steady 200 requests/s while the workers of the same `serve` are busy; and
growth: the rate at 300 and at 30,000 pending events over 1,000,000 finished ones (statistics
taken during the backlog), and `/healthz` with that history.

Each run gets a database of its own (created and dropped here; trust auth as on the test
machine), the registry of tests/fixtures/zendesk/registry.json, and three events per ticket
stored at once; the workers (2 threads each, KB access and portal on, as by default) read and
write a stub Zendesk (tests/support/stub_platform.py) in a process of its own. CPU is the
connector processes' and their PostgreSQL backends' (from /proc), per stored event;
transactions are pg_stat_database's commits and rollbacks of the run's database, per ticket.

    python benchmarks/scale_out.py [--tickets 1000] [--workers 1,2,4] [--growth] [--postgres URL]

The machine this runs on may be shared: the figures are printed with the command that gave them.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.webhook_ingest import free_port, pct, signed_headers_for, wait_up  # noqa: E402
from connector.storage import open_database  # noqa: E402
from connector.storage.events import events  # noqa: E402
from connector.storage.registry_import import import_registry  # noqa: E402
from tests.support.stub_platform import FIELDS  # noqa: E402

REGISTRY = ROOT / "tests" / "fixtures" / "zendesk" / "registry.json"
TICK = os.sysconf("SC_CLK_TCK")
KINDS = ("ticket.created", "ticket.status_changed", "ticket.comment_added")
SECRET = "benchmark-signing-secret-0123456789"


def cpu_seconds(pids) -> float:
    """User + system CPU of the processes (those gone count nothing)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            pass
    return total / TICK


class Database:
    """A PostgreSQL database of its own for one run (or an SQLite file)."""

    def __init__(self, admin_url: str | None, folder: Path, name: str) -> None:
        self.admin_url, self.name = admin_url, name
        if admin_url is None:
            self.url = f"sqlite:///{folder / (name + '.db')}"
            return
        admin = sa.make_url(admin_url)
        self.admin = sa.create_engine(admin.set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
        with self.admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        self.url = admin.set(drivername="postgresql", database=name).render_as_string(hide_password=False)

    def backends(self) -> list[int]:
        if self.admin_url is None:
            return []
        with self.admin.connect() as conn:
            return list(
                conn.execute(sa.text("SELECT pid FROM pg_stat_activity WHERE datname = :d"), {"d": self.name}).scalars()
            )

    def transactions(self) -> int:
        if self.admin_url is None:
            return 0
        with self.admin.connect() as conn:
            conn.execute(sa.text("SELECT pg_stat_clear_snapshot()"))
            return int(
                conn.execute(
                    sa.text("SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = :d"),
                    {"d": self.name},
                ).scalar()
                or 0
            )

    def drop(self) -> None:
        if self.admin_url is not None:
            with self.admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
            self.admin.dispose()


def config(folder: Path, url: str, stub: int, name: str, port: int = 8080, threads: int = 2) -> Path:
    path = folder / f"{name}.toml"
    fields = "\n".join(f"{k} = {v}" for k, v in FIELDS.items())
    path.write_text(
        f'database_url = "{url}"\n[server]\nport = {port}\n[worker]\nthreads = {threads}\n'
        f"poll_seconds = 0.2\n[alerts]\nenabled = false\n[platforms.zendesk]\n"
        f'base_url = "http://127.0.0.1:{stub}"\nwebhook_secret = "{SECRET}"\n'
        f'[platforms.zendesk.credentials]\nemail = "bench@example.com"\napi_token = "t"\n'
        f"[platforms.zendesk.fields]\n{fields}\n",
        encoding="utf-8",
    )
    return path


def store(engine, first: int, tickets: int, status: str = "pending", history: bool = False) -> None:
    """Three events per ticket in one statement (as the webhooks would have stored them)."""
    now = datetime.now(UTC)
    rows = [
        dict(
            platform="zendesk",
            delivery_id=f"b{n}-{k}",
            ticket_id=str(100000 + n),
            kind=kind,
            received_at=now,
            body=b"{}",
            status=status,
            attempts=0,
            next_attempt_at=now,
            finished_at=now if history else None,
        )
        for n in range(first, first + tickets)
        for k, kind in enumerate(KINDS)
    ]
    with engine.begin() as conn:
        for i in range(0, len(rows), 5000):
            conn.execute(events.insert(), rows[i : i + 5000])


def start_workers(count: int, path: Path, folder: Path) -> list[subprocess.Popen]:
    """`count` worker processes, returned once each has said it runs."""
    started = []
    for i in range(count):
        log = open(folder / f"worker{i}.log", "w+")
        started.append(
            subprocess.Popen(
                [sys.executable, "-m", "connector", "worker", "--config", str(path)], stderr=log, stdout=log, cwd=folder
            )
        )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if all("connector worker:" in (folder / f"worker{i}.log").read_text() for i in range(count)):
            return started
        time.sleep(0.1)
    raise SystemExit("workers did not start: " + (folder / "worker0.log").read_text()[-2000:])


def stop(processes: list[subprocess.Popen]) -> None:
    for p in processes:
        p.terminate()
    for p in processes:
        p.wait(timeout=60)


def wait_done(engine, done_target: int, deadline: float) -> tuple[float, int]:
    """Poll until `done_target` events are done; (seconds, polls made)."""
    started, polls = time.perf_counter(), 0
    query = sa.select(sa.func.count()).where(events.c.status == "done", events.c.finished_at.is_not(None))
    with engine.connect() as conn:
        while time.perf_counter() - started < deadline:
            polls += 1
            done = conn.execute(query).scalar()
            conn.commit()
            if done >= done_target:
                return time.perf_counter() - started, polls
            time.sleep(0.2)
    raise SystemExit(f"not done in {deadline} s")


def processing_run(admin: str | None, folder: Path, stub: int, workers: int, tickets: int, name: str) -> dict:
    """Store 3 events x `tickets`, run `workers` processes until all are done; the figures."""
    db = Database(admin, folder, name)
    try:
        engine = open_database(db.url)
        import_registry(REGISTRY, engine)
        path = config(folder, db.url, stub, name)
        procs = start_workers(workers, path, folder)
        store(engine, 0, 20)  # warm-up: connections, caches, the requester's grant and registration
        wait_done(engine, 60, 120)
        pids = [p.pid for p in procs]
        cpu0, backends0 = cpu_seconds(pids), {pid: cpu_seconds([pid]) for pid in db.backends()}
        time.sleep(1.2)  # the backends' statistics reach pg_stat_database within a second
        xacts0 = db.transactions()
        store(engine, 20, tickets)
        seconds, polls = wait_done(engine, 3 * (tickets + 20), 1800)
        cpu1, backends1 = cpu_seconds(pids), {pid: cpu_seconds([pid]) for pid in db.backends()}
        stop(procs)
        time.sleep(1.2)
        xacts = db.transactions() - xacts0 - polls - 1  # less this script's own polls and insert
        pg_cpu = sum(cpu - backends0.get(pid, 0.0) for pid, cpu in backends1.items())
        engine.dispose()
    finally:
        db.drop()
    events_n = 3 * tickets
    return {
        "workers": workers,
        "database": "postgresql" if admin else "sqlite",
        "tickets": tickets,
        "seconds": round(seconds, 2),
        "tickets_per_s": round(tickets / seconds, 1),
        "cpu_ms_per_event": round((cpu1 - cpu0 + pg_cpu) * 1000 / events_n, 2),
        "pg_cpu_ms_per_event": round(pg_cpu * 1000 / events_n, 2),
        "transactions_per_ticket": round(xacts / tickets, 2) if admin else None,
    }


def ingest_while_busy(admin: str, folder: Path, stub: int, backlog: int, seconds: float) -> dict:
    """p50/p99 of webhooks at 200/s to a `serve` whose 2 workers are busy with a backlog."""
    db = Database(admin, folder, "connector_bench_ingest")
    port = free_port()
    try:
        engine = open_database(db.url)
        import_registry(REGISTRY, engine)
        store(engine, 0, backlog // 3)
        path = config(folder, db.url, stub, "ingest", port=port, threads=2)
        serve = subprocess.Popen(
            [sys.executable, "-m", "connector", "serve", "--config", str(path)], stderr=subprocess.PIPE, cwd=folder
        )
        try:
            wait_up(f"http://127.0.0.1:{port}/healthz", serve)
            latencies, statuses, total, senders = [], [], int(200 * seconds), 8
            start = time.perf_counter()

            def sender(index: int) -> None:  # 8 senders, each on its own schedule: 200/s in all
                session = requests.Session()
                for i in range(index, total, senders):
                    pause = start + i / 200 - time.perf_counter()
                    if pause > 0:
                        time.sleep(pause)
                    body, headers = signed_headers_for(SECRET, 900000 + i)
                    t0 = time.perf_counter()
                    answer = session.post(
                        f"http://127.0.0.1:{port}/webhooks/zendesk", data=body, headers=headers, timeout=30
                    )
                    latencies.append(time.perf_counter() - t0)
                    statuses.append(answer.status_code)

            threads = [threading.Thread(target=sender, args=(i,)) for i in range(senders)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            rate, bad = len(latencies) / (time.perf_counter() - start), sum(s != 202 for s in statuses)
            left = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=10).json()["events"]["pending"]
        finally:
            serve.terminate()
            serve.wait(timeout=60)
        engine.dispose()
    finally:
        db.drop()
    return {
        "rate": round(rate),
        "p50_ms": round(pct(latencies, 50), 2),
        "p99_ms": round(pct(latencies, 99), 2),
        "not_202": bad,
        "backlog_left": left,
        "workers_busy_throughout": left > 0,
    }


def growth(admin: str, folder: Path, stub: int) -> dict:
    """The rate over 100 tickets at 300 and at 30,000 pending events, 1,000,000 finished ones stored
    and ANALYZE taken during the backlog; /healthz latency with that history."""
    out: dict[str, Any] = {}
    for pending in (300, 30000):
        db = Database(admin, folder, f"connector_bench_growth_{pending}")  # a new name: a new migration
        try:
            engine = open_database(db.url)
            import_registry(REGISTRY, engine)
            with engine.begin() as conn:  # the history: 1,000,000 done events, in one statement
                conn.execute(
                    sa.text(
                        "INSERT INTO events (platform, delivery_id, ticket_id, kind, received_at, body, status,"
                        " attempts, next_attempt_at, finished_at)"
                        " SELECT 'zendesk', 'h' || n, (n % 300000)::text, 'ticket.updated',"
                        " now() - interval '2 days', '\\x7b7d', 'done', 0, now() - interval '2 days',"
                        " now() - interval '1 day' FROM generate_series(1, 1000000) AS n"
                    )
                )
            path = config(folder, db.url, stub, "growth")
            procs = start_workers(2, path, folder)
            base = 1_000_000
            store(engine, 900000, 20)  # warm-up: connections, caches, the requester's grant and registration
            wait_done(engine, base + 60, 300)
            store(engine, 0, pending // 3)
            with engine.connect() as conn:
                conn.execute(sa.text("ANALYZE events"))  # statistics at the worst moment: during a backlog
                conn.commit()
            seconds, _ = wait_done(engine, base + 60 + 300, 900)  # the first 100 tickets of the backlog
            stop(procs)
            out[f"tickets_per_s_at_{pending}_pending"] = round(100 / seconds, 1)
            if pending == 30000:
                out["healthz"] = healthz(db.url, folder, stub)
            engine.dispose()
        finally:
            db.drop()
    low, high = out["tickets_per_s_at_300_pending"], out["tickets_per_s_at_30000_pending"]
    out["ratio_30000_to_300"] = round(high / low, 2)
    return out


def healthz(url: str, folder: Path, stub: int) -> dict:
    port = free_port()
    path = config(folder, url, stub, "health", port=port, threads=0)
    serve = subprocess.Popen(
        [sys.executable, "-m", "connector", "serve", "--config", str(path)], stderr=subprocess.PIPE, cwd=folder
    )
    try:
        wait_up(f"http://127.0.0.1:{port}/healthz", serve)
        session, times = requests.Session(), []
        for _ in range(200):
            t0 = time.perf_counter()
            session.get(f"http://127.0.0.1:{port}/healthz", timeout=10).raise_for_status()
            times.append(time.perf_counter() - t0)
    finally:
        serve.terminate()
        serve.wait(timeout=60)
    return {"p50_ms": round(pct(times, 50), 2), "p99_ms": round(pct(times, 99), 2)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=1000)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument(
        "--postgres", default=os.environ.get("CONNECTOR_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
    )
    parser.add_argument("--growth", action="store_true", help="also the 1,000,000-event history runs (slow)")
    parser.add_argument("--skip-ingest", action="store_true")
    parser.add_argument("--skip-processing", action="store_true", help="only the other parts")
    args = parser.parse_args()
    os.environ["NO_PROXY"] = ",".join(filter(None, [os.environ.get("NO_PROXY"), "127.0.0.1"]))
    stub_port = free_port()
    stub = subprocess.Popen(
        [sys.executable, "-m", "tests.support.stub_platform", str(stub_port), "--lifetime", "7200"], cwd=ROOT
    )
    results: dict = {
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        "cpus": os.cpu_count(),
        "load_before": os.getloadavg()[0],
    }
    try:
        wait_up(f"http://127.0.0.1:{stub_port}/_log", stub)
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            runs = (
                []
                if args.skip_processing
                else [
                    processing_run(args.postgres, folder, stub_port, int(w), args.tickets, f"connector_bench_w{w}")
                    for w in args.workers.split(",")
                ]
                + [processing_run(None, folder, stub_port, 1, args.tickets, "sqlite")]
            )
            results["processing"] = runs
            for run in runs:
                print("processing: " + json.dumps(run), flush=True)
            if not args.skip_ingest:
                results["ingest_while_busy"] = ingest_while_busy(args.postgres, folder, stub_port, 6000, 10)
                print("ingest while busy: " + json.dumps(results["ingest_while_busy"]), flush=True)
            if args.growth:
                results["growth"] = growth(args.postgres, folder, stub_port)
                print("growth: " + json.dumps(results["growth"]), flush=True)
    finally:
        stub.terminate()
        stub.wait(timeout=30)
    results["load_after"] = os.getloadavg()[0]
    pg = {r["workers"]: r for r in results["processing"] if r["database"] == "postgresql"}
    if 1 in pg and 2 in pg:
        speedup = pg[2]["tickets_per_s"] / pg[1]["tickets_per_s"]
        cpu = pg[2]["cpu_ms_per_event"] / pg[1]["cpu_ms_per_event"]
        print(
            f"targets: 2 workers {speedup:.2f}x one (>= 1.5x); CPU per event {cpu:.2f}x one's (<= 1.15x);"
            f" transactions per ticket {max(r['transactions_per_ticket'] for r in pg.values())} (<= 4)"
            + (
                f"; p99 while busy {results['ingest_while_busy']['p99_ms']} ms (< 25 ms)"
                if "ingest_while_busy" in results
                else ""
            )
        )
    print(
        f"load average {results['load_before']:.1f} before, {results['load_after']:.1f} after"
        f" on {results['cpus']} CPUs (a shared machine: figures are noisy)"
    )
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
