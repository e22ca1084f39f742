"""Benchmark a KB sync: planning for 100,000 contacts, and applying 10,000 grants to a rate-limited Zendesk.

a. Planning: the issue's registry (100,000 contacts, 20,000 customers, their purchases and
   contracts; `benchmarks.entitlement.generate`) imported into a temporary SQLite database with the
   code of `connector import`, then `desired_access` + `plan_access` against holders = a random 30%
   of the contacts plus 2,000 strangers. Peer, measured in the same run: the per-ticket path
   (`SqlRegistry.customers_by_email` + `customer_facts` + `kb_access`, one contact at a time) on a
   sample, extrapolated to every contact.
b. Applying: an in-memory Zendesk (`tests/support/zendesk_stub.py`) served by werkzeug on 127.0.0.1,
   enforcing 700 requests/minute as a steady rate (bursts of 3; over it: 429 + Retry-After), and
   10,000 grants to people who are not Zendesk users yet through `ZendeskAdapter.apply_access`
   (paced at the same 700/minute: `options.api_requests_per_minute`); then 1,000 more unpaced, which
   run into 429s that must all be waited out and retried.

    .venv/bin/python benchmarks/kb_sync.py [--contacts-sample 2000] [--grants 10000]

Targets: planning under 10 s; applying within 1.1x of the floor with no change failed and no 429
left unretried. The floor is the fewest requests Zendesk's API needs for the change, at 700 a
minute: per 100 people who are not users yet, one search (who is a user?) and one `create_many`
job that creates them with the tag, and one job status read per 100 jobs (`show_many` takes 100
ids): not the requests the connector happened to make.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import sys
import tempfile
import threading
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: `benchmarks` importable

from benchmarks.entitlement import CONTACTS, CUSTOMERS, generate
from connector.config.policies import load_policy
from connector.config.settings import PlatformSettings
from connector.core.kb_access import GRANT, AccessChange, kb_access, plan_access
from connector.platforms.zendesk import ZendeskAdapter
from connector.storage import open_database
from connector.storage.people import desired_access
from connector.storage.registry import SqlRegistry
from connector.storage.registry_import import import_registry
from tests.support.zendesk_stub import FakeZendesk, SteadyRate, wsgi_app

DAY = date(2025, 3, 1)
RATE = 700  # requests a minute


def planning(folder: Path, rng: random.Random, sample_size: int) -> dict:
    """Import the registry, time the whole-registry plan and the per-contact peer."""
    t0 = time.perf_counter()
    (folder / "registry.json").write_text(json.dumps(generate(rng)))
    engine = open_database(f"sqlite:///{folder / 'bench.db'}")
    imported = import_registry(folder / "registry.json", engine)
    print(
        f"registry: generated and imported {CONTACTS:,} contacts of {CUSTOMERS:,} customers in"
        f" {time.perf_counter() - t0:.1f} s (import {imported.seconds:.1f} s)",
        flush=True,
    )
    policy = load_policy()
    emails = [f"user{n}@c{n % CUSTOMERS}.example" for n in range(CONTACTS)]
    holders = rng.sample(emails, CONTACTS * 3 // 10) + [f"stranger{n}@elsewhere.example" for n in range(2000)]
    started = time.perf_counter()
    desired = desired_access(engine, DAY, policy)
    read = time.perf_counter() - started
    plan = plan_access(desired, holders)
    total = time.perf_counter() - started
    grants = sum(c.action == GRANT for c in plan)
    sample = rng.sample(emails, sample_size)
    with engine.connect() as conn:
        registry = SqlRegistry(conn)
        t1 = time.perf_counter()
        for email in sample:
            for customer in registry.customers_by_email(email):
                kb_access(registry.customer_facts(customer, None), DAY, policy)
        per_contact = (time.perf_counter() - t1) / sample_size
    engine.dispose()
    peer = per_contact * CONTACTS
    result = {
        "contacts": len(desired),
        "holders": len(holders),
        "grants": grants,
        "revokes": len(plan) - grants,
        "plan_s": round(total, 2),
        "read_and_rule_s": round(read, 2),
        "plan_access_s": round(total - read, 2),
        "peer_per_contact_ms": round(per_contact * 1000, 3),
        "peer_extrapolated_s": round(peer, 1),
        "speedup_vs_peer": round(peer / total, 1),
    }
    print("planning: " + json.dumps(result), flush=True)
    return result


def applying(grants: int, paced: bool = True) -> dict:
    """Serve the rate-limited stub on loopback and apply `grants` grants through the adapter
    (paced at the limit, or not: then it runs into 429s and waits them out)."""
    from werkzeug.serving import WSGIRequestHandler, make_server

    class Quiet(WSGIRequestHandler):
        def log_request(self, *args, **kwargs) -> None:  # noqa: D102 - no access log on stderr
            pass

    fake = FakeZendesk(base="http://127.0.0.1", job_seconds=0.3)
    counts: dict[str, int] = {}
    server = make_server(
        "127.0.0.1", 0, wsgi_app(fake, SteadyRate(RATE, burst=3), counts), threaded=True, request_handler=Quiet
    )
    thread = threading.Thread(target=server.serve_forever, name="zendesk-stub", daemon=True)
    thread.start()
    retries = []

    class RetryCount(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if "rate limited" in record.getMessage():
                retries.append(record)

    client_log = logging.getLogger("connector.platforms.client")
    client_log.addHandler(RetryCount())
    client_log.setLevel(logging.INFO)
    try:
        settings = PlatformSettings(
            name="zendesk",
            base_url=f"http://127.0.0.1:{server.server_port}",
            credentials={"email": "bench@ascon.example", "api_token": "bench"},
            options={"api_requests_per_minute": RATE if paced else None, "job_poll_seconds": 0.5},
        )
        adapter = ZendeskAdapter(settings, ZendeskAdapter.client_for(settings))
        plan = [
            AccessChange(f"staff{n}@c{n % 997}.example", GRANT, "warranty", f"C{n % 997:05}") for n in range(grants)
        ]
        started = time.perf_counter()
        outcomes = list(adapter.apply_access(plan))
        elapsed = time.perf_counter() - started
    finally:
        server.shutdown()
        thread.join(5)
    failed = [o for o in outcomes if not o.ok]
    tagged = sum("kb_closed" in (fake.tags_of(c.email) or []) for c in plan)
    served = counts.get("requests", 0) - counts.get("429", 0)
    batches = -(-grants // 100)
    fewest = 2 * batches + -(-batches // 100)  # a search and a create_many job per 100; one status read per 100 jobs
    floor = fewest * 60 / RATE
    jobs = sum(1 for m, p, _ in fake.requests if m in ("POST", "PUT") and p.startswith("/api/v2/users/"))
    result = {
        "paced": paced,
        "grants": grants,
        "elapsed_s": round(elapsed, 1),
        "requests": counts.get("requests", 0),
        "requests_served": served,
        "fewest_requests": fewest,
        "jobs": jobs,
        "rate_limited_429": counts.get("429", 0),
        "retried_429": len(retries),
        "floor_s": round(floor, 1),
        "elapsed_over_floor": round(elapsed / floor, 2),
        "failed": len(failed),
        "tagged_on_stub": tagged,
    }
    print(f"applying ({'paced' if paced else 'unpaced'}): " + json.dumps(result), flush=True)
    return result


def main() -> int:
    """Run both parts; print the figures and the targets."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts-sample", type=int, default=2000, help="contacts the per-contact peer resolves")
    parser.add_argument("--grants", type=int, default=10_000)
    parser.add_argument(
        "--unpaced-grants",
        type=int,
        default=1000,
        help="a second run without client pacing, to show 429s waited out (0: skip)",
    )
    args = parser.parse_args()
    os.environ["NO_PROXY"] = ",".join(filter(None, [os.environ.get("NO_PROXY"), "127.0.0.1"]))
    rng = random.Random(5)
    with tempfile.TemporaryDirectory() as tmp:
        plan = planning(Path(tmp), rng, args.contacts_sample)
    apply = applying(args.grants)
    if args.unpaced_grants:
        bounced = applying(args.unpaced_grants, paced=False)
        ok_bounced = (
            bounced["failed"] == 0
            and bounced["tagged_on_stub"] == bounced["grants"]
            and bounced["retried_429"] == bounced["rate_limited_429"]
        )
        print(
            f"unpaced: {bounced['rate_limited_429']} 429s received, {bounced['retried_429']} waited out and"
            f" retried, failed {bounced['failed']} -> {'OK' if ok_bounced else 'MISSED'}"
        )
    ok_plan = plan["plan_s"] < 10
    ok_apply = (
        apply["failed"] == 0
        and apply["tagged_on_stub"] == apply["grants"]
        and apply["retried_429"] == apply["rate_limited_429"]
        and apply["elapsed_over_floor"] <= 1.1
    )
    print(
        f"targets: planning {plan['contacts']:,} contacts < 10 s ({plan['plan_s']} s, {plan['speedup_vs_peer']}x"
        f" the per-contact path); applying {apply['grants']:,} grants near the floor ({apply['elapsed_s']} s,"
        f" floor {apply['floor_s']} s, x{apply['elapsed_over_floor']}), failed {apply['failed']},"
        f" 429s {apply['rate_limited_429']} all retried: {apply['retried_429'] == apply['rate_limited_429']}"
        f" -> {'OK' if ok_plan and ok_apply else 'MISSED'}"
    )
    return 0 if ok_plan and ok_apply else 1


if __name__ == "__main__":
    sys.exit(main())
