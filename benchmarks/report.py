"""Benchmark `connector report` over 100,000 ledger rows on SQLite, through the CLI (a new process,
as an admin runs it: start-up, the migration check, reading, outcomes, summary, writing).

The ledger gets ROWS tickets of one customer spread over 2026 (outcomes of every kind: replies
before and after their due moments, open and solved tickets, tickets without targets), plus
ROWS / 10 of other customers; the report asks for that customer's whole year, so all ROWS rows
are read and written. Then `--all` over the same year (one summary row per customer), and the
HTML page. Each command runs 3 times; the best time is printed.

    .venv/bin/python benchmarks/report.py [--rows 100000]

Target (issue 13): the CSV report of 100,000 rows in under 2 s.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: `benchmarks` importable

from connector.core.ledger import LedgerEntry
from connector.storage import open_database
from connector.storage.ledger import entry_row, ticket_ledger

ROOT = Path(__file__).resolve().parent.parent
CONNECTOR = Path(sys.executable).with_name("connector")
YEAR = datetime(2026, 1, 1, 7, tzinfo=UTC)
HOUR = timedelta(hours=1)


def entry(n: int, customer: str, rng: random.Random) -> LedgerEntry:
    """A plausible ledger row: warranty, contract or basic, replied or not, solved or not."""
    created = YEAR + timedelta(minutes=rng.randrange(0, 360 * 24 * 60))
    tier = rng.choice(("warranty", "individual", "basic"))
    fr_target = {"warranty": 8, "individual": 4, "basic": 16}[tier] * HOUR
    res_target = None if tier == "basic" else (40 if tier == "warranty" else 16) * HOUR
    fr_due = created + fr_target * 1.5
    replied = created + rng.uniform(0.2, 2.0) * fr_target if rng.random() < 0.9 else None
    res_due = created + res_target * 1.5 if res_target else None
    solved = created + rng.uniform(0.5, 1.6) * res_target if res_target and rng.random() < 0.7 else None
    return LedgerEntry(
        platform="zendesk",
        ticket_id=str(n),
        created_at=created,
        requester_email=f"user{n % 500}@{customer}.example",
        requester_name=None,
        subject=f"ticket {n}",
        customer_id=customer,
        customer_name=f"Customer {customer}",
        product=rng.choice(("KOMPAS", "VERT", "PILOT")),
        request_type=rng.choice(("error", "information", "proposal")),
        topic=None,
        channel="email",
        tier=tier,
        contract="C-1" if tier == "individual" else None,
        flags=("warranty_expiring_soon",) if rng.random() < 0.05 else (),
        first_response_target=fr_target,
        first_response_due=fr_due,
        first_response_at=replied,
        first_response_elapsed=(replied - created) if replied else fr_target,
        first_response_state="stopped",
        first_response_breached_at=fr_due if replied and replied > fr_due else None,
        resolution_target=res_target,
        resolution_due=res_due,
        resolved_at=solved,
        resolution_paused=rng.choice((timedelta(0), 2 * HOUR)),
        resolution_state="stopped" if solved else "running",
        resolution_breached_at=None,
        processed_at=created + 2 * HOUR,
    )


def fill(url: str, rows: int) -> None:
    """ROWS tickets of customer C-1 and ROWS/10 of 200 others, in batches of 5,000."""
    rng = random.Random(13)
    engine = open_database(url)
    started = time.perf_counter()
    entries = [(n, "C-1") for n in range(rows)] + [(rows + n, f"C-{2 + n % 200}") for n in range(rows // 10)]
    with engine.begin() as conn:
        for i in range(0, len(entries), 5000):
            conn.execute(ticket_ledger.insert(), [entry_row(entry(n, c, rng)) for n, c in entries[i : i + 5000]])
    engine.dispose()
    print(f"ledger: {len(entries):,} rows written in {time.perf_counter() - started:.1f} s", flush=True)


CPU = [0.0]  # CPU seconds (user + system) of the best run: a figure less moved by other load


def timed(args: list[str], url: str, out: Path) -> float:
    """The best of 3 runs of `connector report ARGS`, in wall seconds (its CPU seconds in CPU[0])."""
    best = float("inf")
    for _ in range(3):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        done = subprocess.run(
            [str(CONNECTOR), "report", *args, "--database", url, "--output", str(out)],
            capture_output=True,
            text=True,
            timeout=600,
            cwd=ROOT,
        )
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if done.returncode != 0:
            raise SystemExit(f"connector report failed: {done.stderr}")
        if wall < best:
            best, CPU[0] = wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return best


def main() -> None:
    """Fill a ledger, time the reports, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    rows = parser.parse_args().rows
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        fill(url, rows)
        period = ["--from", "2026-01-01", "--to", "2026-12-31"]
        out = Path(folder) / "report"
        csv_s = timed(["--customer", "C-1", *period], url, out.with_suffix(".csv"))
        lines = out.with_suffix(".csv").read_bytes().count(b"\n") - 1
        csv_cpu = CPU[0]
        print(
            f"report --customer (CSV): {lines:,} rows in {csv_s:.2f} s through the CLI, {csv_cpu:.2f} CPU s"
            " (target: under 2 s)"
        )
        json_s = timed(["--customer", "C-1", *period, "--format", "json"], url, out.with_suffix(".json"))
        print(f"report --customer (JSON): {json_s:.2f} s")
        all_s = timed(["--all", *period], url, out.with_suffix(".all.csv"))
        print(f"report --all (CSV): {rows + rows // 10:,} rows read, one row per customer, in {all_s:.2f} s")
        html_s = timed(["--customer", "C-1", *period, "--format", "html"], url, out.with_suffix(".html"))
        size = os.path.getsize(out.with_suffix(".html"))
        print(f"report --customer (HTML): {html_s:.2f} s, {size / 1e6:.1f} MB")
        print(
            f"target {'met' if csv_s < 2 else 'NOT met'}: {csv_s:.2f} s for {lines:,} rows"
            f" ({csv_cpu:.2f} CPU s; load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)"
        )


if __name__ == "__main__":
    main()
