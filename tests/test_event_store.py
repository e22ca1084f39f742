"""The event store on SQLite and PostgreSQL: duplicates, per-ticket order, leases, retries,
dead letters, replay, and a worker process killed with -9 while holding an event."""

import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from connector.core.events import TicketEvent
from connector.storage.events import EventStore

T0 = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
LEASE = timedelta(seconds=60)


def event(ticket: str, delivery: str, platform: str = "zendesk") -> TicketEvent:
    return TicketEvent(platform, ticket, "ticket.status_changed", delivery, T0)


@pytest.fixture
def store(engine) -> EventStore:
    return EventStore(engine)


def test_a_delivery_seen_before_is_a_duplicate(store):
    first, created = store.add(event("1", "d1"), b"{}", T0)
    again, created_again = store.add(event("1", "d1"), b"{}", T0 + timedelta(seconds=5))
    other_platform, created_other = store.add(event("1", "d1", platform="django-helpdesk"), b"{}", T0)
    assert (created, created_again, created_other) == (True, False, True)
    assert again == first and other_platform != first
    assert store.counts() == {"pending": 2}


def test_events_of_one_ticket_never_race_other_tickets_proceed(store):
    a1, _ = store.add(event("A", "a1"), b"1", T0)
    b1, _ = store.add(event("B", "b1"), b"3", T0)
    first = store.claim("w1", T0, LEASE)
    second = store.claim("w2", T0, LEASE)
    assert (first.id, second.id) == (a1, b1)
    a2, _ = store.add(event("A", "a2"), b"2", T0)  # arrives while a1 is processed
    assert store.claim("w3", T0, LEASE) is None  # a2 waits behind a1
    store.finish(first, "w1", {"ok": 1}, T0)
    assert store.claim("w3", T0, LEASE).id == a2  # not covered: it came after a1's claim


def test_a_replayed_older_event_waits_while_a_newer_one_of_its_ticket_is_leased(store):
    a1, _ = store.add(event("A", "a1"), b"1", T0)
    e = store.claim("w1", T0, LEASE)
    store.dead_letter(e, "w1", "HTTP 404", T0)
    a2, _ = store.add(event("A", "a2"), b"2", T0)
    assert store.claim("w1", T0, LEASE).id == a2
    store.replay([a1], T0)
    assert store.claim("w2", T0, LEASE) is None  # a1 is older, but a2's lease is live


def test_finish_covers_the_events_its_claim_saw_by_their_ids(store):
    a1, _ = store.add(event("A", "a1"), b"1", T0)
    a2, _ = store.add(event("A", "a2"), b"2", T0 + timedelta(seconds=1))
    b1, _ = store.add(event("B", "b1"), b"4", T0)
    claimed = store.claim("w1", T0 + timedelta(seconds=2), LEASE)
    assert claimed.covers_through == a2  # the ticket's newest unfinished event at the claim
    a3, _ = store.add(event("A", "a3"), b"3", T0 - timedelta(hours=1))  # a host's clock far behind
    store.finish(claimed, "w1", {}, T0 + timedelta(seconds=3))
    assert store.get(a2).status == "done" and store.get(a2).result == {"covered_by": a1}
    assert store.get(a3).status == "pending"  # arrived after the claim, whatever its clock said
    assert store.get(b1).status == "pending"  # another ticket


def test_an_expired_lease_is_claimed_again_and_the_old_owner_cannot_settle(store):
    store.add(event("A", "a1"), b"1", T0)
    lost = store.claim("dead-worker", T0, LEASE)
    assert store.claim("w2", T0 + timedelta(seconds=59), LEASE) is None
    again = store.claim("w2", T0 + timedelta(seconds=61), LEASE)
    assert again.id == lost.id
    assert not store.finish(lost, "dead-worker", {}, T0 + timedelta(seconds=62))
    assert store.finish(again, "w2", {"by": "w2"}, T0 + timedelta(seconds=62))
    assert store.get(again.id).result == {"by": "w2"}


def test_retry_waits_then_dead_letter_and_replay(store):
    a1, _ = store.add(event("A", "a1"), b"1", T0)
    a2, _ = store.add(event("A", "a2"), b"2", T0)
    e = store.claim("w", T0, LEASE)
    store.retry(e, "w", "HTTP 503", timedelta(seconds=30), T0)
    assert store.claim("w", T0 + timedelta(seconds=29), LEASE) is None  # a2 stays behind a1 too
    e = store.claim("w", T0 + timedelta(seconds=30), LEASE)
    assert (e.id, e.attempts, e.last_error, e.first_failed_at) == (a1, 1, "HTTP 503", T0)
    store.dead_letter(e, "w", "HTTP 503 for an hour", T0 + timedelta(hours=1))
    failed = store.list("failed")
    assert [(f.id, f.last_error, f.attempts) for f in failed] == [(a1, "HTTP 503 for an hour", 2)]
    assert store.claim("w", T0 + timedelta(hours=1), LEASE).id == a2  # a dead letter no longer blocks
    assert store.replay([a1], T0 + timedelta(hours=2)) == 1
    assert store.get(a1).status == "pending" and store.get(a1).attempts == 0


KILLED_WORKER = """
import os, signal, sys
from datetime import datetime, timedelta, timezone
from connector.storage import open_database
from connector.storage.events import EventStore
store = EventStore(open_database(sys.argv[1]))
claimed = store.claim("doomed", datetime.now(timezone.utc), timedelta(seconds=1))
print(claimed.id, flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_worker_killed_with_sigkill_mid_event_loses_nothing(store, database_url):
    event_id, _ = store.add(event("A", "a1"), b"1", datetime.now(UTC))
    done = subprocess.run(
        [sys.executable, "-c", KILLED_WORKER, database_url], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == -signal.SIGKILL and done.stdout.split() == [str(event_id)]
    assert store.get(event_id).status == "processing"
    assert store.claim("w", datetime.now(UTC), LEASE) is None  # lease still held
    later = datetime.now(UTC) + timedelta(seconds=2)
    again = store.claim("w", later, LEASE)
    assert again.id == event_id
    assert store.finish(again, "w", {"ok": True}, later)
    assert store.counts() == {"done": 1}
