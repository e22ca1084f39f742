"""Benchmark the registry: import time and entitlement resolutions per second (SQLite, PostgreSQL).

Generates the issue's registry (100,000 contacts, 20,000 customers, 200,000 purchases, 2,000
contracts) into a temporary folder, imports it with the same code as `connector import`, then
resolves random requests one by one and reports the rate and the p50/p99 latency.

    .venv/bin/python benchmarks/entitlement.py [--resolutions 20000] [--postgres URL | --no-postgres]

Targets (issue 3): import under 60 s; on SQLite at least 5,000 resolutions/s and p99 under 5 ms.
PostgreSQL is measured when reachable (default postgresql://postgres@127.0.0.1:5432/test, in a
schema of its own that is dropped afterwards).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path

import pytz
import sqlalchemy as sa

from connector.config.rules import rulebook
from connector.core.entitlement import REQUEST_TYPES, EntitlementRequest, resolve
from connector.storage import open_database
from connector.storage.registry import SqlRegistry
from connector.storage.registry_import import import_registry

CUSTOMERS, CONTACTS, PURCHASES, CONTRACTS, PRODUCTS = 20_000, 100_000, 200_000, 2_000, 40
ZONE = pytz.timezone("Europe/Moscow")


def day(rng: random.Random, first: date, last: date) -> str:
    """A random date between first and last, ISO."""
    return (first + timedelta(days=rng.randrange((last - first).days + 1))).isoformat()


def generate(rng: random.Random) -> dict:
    """The registry document."""
    products = [{"code": f"P{i:03}", "name": f"Product {i}"} for i in range(PRODUCTS)]
    for p in products[:3]:
        p["withdrawn_on"] = "2024-07-01"
    customers, licenses, held = [], [], {}
    for i in range(CUSTOMERS):
        domain = f"c{i // 2}.example" if i % 100 == 0 else f"c{i}.example"  # 1% share a domain
        customers.append(
            {
                "id": f"C{i:05}",
                "name": f"Customer {i}",
                "email_domains": [domain],
                **({"platform_ids": {"zendesk": str(100000 + i)}} if i % 2 else {}),
            }
        )
        held[i] = rng.sample(range(PRODUCTS), rng.randint(1, 4))
        licenses += [
            {"customer": f"C{i:05}", "product": f"P{p:03}", "since": day(rng, date(2015, 1, 1), date(2023, 1, 1))}
            for p in held[i]
        ]
    contacts = [
        {"email": f"user{n}@c{n % CUSTOMERS}.example", "customer": f"C{n % CUSTOMERS:05}", "name": f"User {n}"}
        for n in range(CONTACTS)
    ]
    purchases: list[dict[str, str]] = []
    seen: set[tuple[str, str, str, str]] = set()
    while len(purchases) < PURCHASES:
        i = len(purchases) // 10
        row = (
            f"C{i:05}",
            f"P{rng.choice(held[i]):03}",
            rng.choice(("product", "update_package")),
            day(rng, date(2019, 1, 1), date(2025, 6, 30)),
        )
        if row not in seen:
            seen.add(row)
            purchases.append(dict(zip(("customer", "product", "kind", "date"), row, strict=True)))
    contracts = []
    for n in range(CONTRACTS):
        i = n * (CUSTOMERS // CONTRACTS)
        starts = date.fromisoformat(day(rng, date(2024, 1, 1), date(2025, 6, 1)))
        contracts.append(
            {
                "number": f"SLA-{n:04}",
                "customer": f"C{i:05}",
                "counterparty": "dealer",
                "starts": starts.isoformat(),
                "ends": (starts + timedelta(days=364)).isoformat(),
                "products": "*" if n % 2 else [f"P{p:03}" for p in held[i]],
                "sla": {
                    "calendar": "24x7" if n % 3 == 0 else "default",
                    "first_response_hours": rng.choice((2, 4, 8, 12)),
                    "resolution_hours": rng.choice((16, 24, 40, None)),
                },
            }
        )
    return {
        "products": products,
        "customers": customers,
        "contacts": contacts,
        "licenses": licenses,
        "purchases": purchases,
        "contracts": contracts,
    }


def requests(rng: random.Random, n: int) -> list[EntitlementRequest]:
    """Random requests: mostly known contacts, some by domain only, some unknown."""
    out = []
    for _ in range(n):
        k = rng.randrange(CONTACTS)
        roll = rng.random()
        email = (
            f"user{k}@c{k % CUSTOMERS}.example"
            if roll < 0.9
            else f"someone@c{k % CUSTOMERS}.example"
            if roll < 0.95
            else f"nobody{k}@unknown.example"
        )
        at = ZONE.localize(datetime(2025, 1, 1, 8) + timedelta(minutes=rng.randrange(365 * 24 * 60)))
        product = f"P{rng.randrange(PRODUCTS):03}" if rng.random() < 0.8 else None
        out.append(EntitlementRequest(email, at, product, rng.choice(REQUEST_TYPES)))
    return out


def measure(url: str, folder: Path, sample: list[EntitlementRequest], label: str) -> dict:
    """Import into `url`, then time each resolution."""
    engine = open_database(url)
    report = import_registry(folder / "registry.json", engine)
    again = import_registry(folder / "registry.json", engine)  # the nightly re-import: all unchanged
    assert not again.changed
    rules = rulebook()
    latencies = []
    with engine.connect() as conn:
        registry = SqlRegistry(conn)
        for request in sample[:200]:  # warm up: calendars laid out, statements compiled
            resolve(request, registry, rules)
        started = time.perf_counter()
        for request in sample:
            t0 = time.perf_counter()
            resolve(request, registry, rules)
            latencies.append(time.perf_counter() - t0)
        total = time.perf_counter() - started
    engine.dispose()
    latencies.sort()
    result = {
        "database": label,
        "import_s": round(report.seconds, 1),
        "reimport_s": round(again.seconds, 1),
        "resolutions_per_s": round(len(sample) / total),
        "p50_ms": round(statistics.median(latencies) * 1000, 3),
        "p99_ms": round(latencies[int(len(latencies) * 0.99)] * 1000, 3),
    }
    print(json.dumps(result), flush=True)
    return result


def main() -> int:
    """Generate, import and resolve; print the figures and the targets."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resolutions", type=int, default=20_000)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    rng = random.Random(3)
    sample = requests(rng, args.resolutions)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        t0 = time.perf_counter()
        (folder / "registry.json").write_text(json.dumps(generate(rng)))
        print(f"generated the registry in {time.perf_counter() - t0:.1f} s", flush=True)
        results = [measure(f"sqlite:///{folder / 'bench.db'}", folder, sample, "sqlite")]
        if not args.no_postgres:
            results += _postgres(args.postgres, folder, sample)
    sqlite = results[0]
    print(
        f"targets: import < 60 s (sqlite: {sqlite['import_s']} s); >= 5,000 resolutions/s on SQLite"
        f" ({sqlite['resolutions_per_s']:,}); p99 < 5 ms on SQLite ({sqlite['p99_ms']} ms)"
    )
    ok = sqlite["import_s"] < 60 and sqlite["resolutions_per_s"] >= 5000 and sqlite["p99_ms"] < 5
    return 0 if ok else 1


def _postgres(url: str, folder: Path, sample: list[EntitlementRequest]) -> list[dict]:
    """The same on PostgreSQL, in a throw-away schema."""
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with admin.begin() as conn:
            conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    except sa.exc.OperationalError as exc:
        print(f"PostgreSQL skipped: {str(exc.orig).strip().splitlines()[0]}", file=sys.stderr)
        return []
    try:
        sep = "&" if "?" in url else "?"
        return [measure(f"{url}{sep}options=-csearch_path%3D{schema}", folder, sample, "postgresql")]
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


if __name__ == "__main__":
    sys.exit(main())
