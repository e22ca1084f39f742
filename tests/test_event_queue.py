"""The event queue for several processes, on SQLite and PostgreSQL: concurrent claims never take
one event twice nor two events of one ticket at once, moments come from the database's clock,
heartbeats keep a lease, retention prunes in batches, and processes migrating an empty database
at once all start."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from connector.core.errors import PlatformError
from connector.core.events import TicketEvent
from connector.pipeline.worker import LeaseKeeper
from connector.storage.events import EventStore, events

LEASE = timedelta(seconds=60)


def event(ticket: str, delivery: str) -> TicketEvent:
    return TicketEvent("zendesk", ticket, "ticket.updated", delivery)


@pytest.fixture
def store(engine) -> EventStore:
    return EventStore(engine)


def database_now(store: EventStore) -> datetime:
    if not store.postgres:
        return datetime.now(UTC)
    with store.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.now())).scalar()


def test_concurrent_claims_take_each_event_once_and_never_two_of_one_ticket(store):
    for n in range(240):
        store.add(event(str(n % 24), f"d{n}"), b"{}")
    busy: dict[str, str] = {}
    taken: list[int] = []
    overlaps: list[str] = []
    lock = threading.Lock()

    def work(name: str) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            claimed = store.claim(name, None, LEASE)
            if claimed is None:
                if store.backlog()["pending"] == 0:
                    return
                time.sleep(0.005)
                continue
            with lock:
                if claimed.ticket_id in busy:
                    overlaps.append(claimed.ticket_id)
                busy[claimed.ticket_id] = name
                taken.append(claimed.id)
            time.sleep(0.002)  # the ticket's read and write
            with lock:
                busy.pop(claimed.ticket_id)
            assert store.finish(claimed, name, {"by": name})

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=90)
    assert overlaps == []
    assert len(taken) == len(set(taken))  # no event claimed twice
    assert store.counts() == {"done": 240}
    with store.engine.connect() as conn:
        covered = conn.execute(sa.select(sa.func.count()).where(events.c.result.like("%covered_by%"))).scalar()
    assert len(taken) + covered == 240  # the rest were covered by a read of their ticket


def test_receipts_and_leases_are_stamped_with_the_database_clock(store):
    before = database_now(store)
    event_id, _ = store.add(event("7", "d1"), b"{}")
    claimed = store.claim("w", None, LEASE)
    after = database_now(store)
    assert claimed.id == event_id and before <= claimed.received_at <= after
    assert before <= claimed.claimed_at <= after
    with store.engine.connect() as conn:
        until = conn.execute(sa.select(events.c.lease_until).where(events.c.id == event_id)).scalar()
    until = until.replace(tzinfo=UTC) if until.tzinfo is None else until
    assert claimed.claimed_at + LEASE - timedelta(seconds=1) <= until <= claimed.claimed_at + LEASE


def test_the_heartbeat_keeps_a_slow_event_from_a_second_worker(store):
    store.add(event("7", "d1"), b"{}")
    lease = timedelta(seconds=0.6)
    slow = store.claim("slow", None, lease)
    keeper = LeaseKeeper(store, lease)
    keeper.hold(slow, "slow")
    stop = threading.Event()
    beating = threading.Thread(target=keeper.run, args=(stop,))
    beating.start()
    try:
        deadline = time.monotonic() + 2.0  # more than three leases
        while time.monotonic() < deadline:
            assert store.claim("other", None, lease) is None
            time.sleep(0.05)
    finally:
        stop.set()
        beating.join(timeout=10)
    time.sleep(0.7)  # no heartbeat any more: the lease runs out
    again = store.claim("other", None, lease)
    assert again is not None and again.id == slow.id
    assert keeper.beat() == {slow.id}  # the old holder learns it lost the lease
    assert not store.finish(slow, "slow", {})


def test_a_lost_lease_stops_the_old_holders_writes_before_they_are_sent(store):
    """A worker whose heartbeat came too late (starved, paused) goes on with its event while
    another worker takes it over: its platform reads may still go, its writes are refused
    before they reach the platform, so the two never both write one ticket."""
    from connector.platforms.client import PlatformClient, within_lease

    store.add(event("7", "d1"), b"{}")
    lease = timedelta(seconds=0.2)
    slow = store.claim("slow", None, lease)
    keeper = LeaseKeeper(store, lease)
    keeper.hold(slow, "slow")
    time.sleep(0.3)  # the heartbeat is late: the lease runs out and another worker takes the event
    assert store.claim("other", None, lease).id == slow.id
    sent: list[str] = []

    class Recording(PlatformClient):
        def _request(self, method, url, headers, body):  # the network, recorded
            sent.append(method)
            from connector.platforms.client import Response

            return Response(200, {}, b"{}")

    client = Recording("http://127.0.0.1:9")
    with within_lease(str(slow.id)):
        assert client.call("GET", "/ticket") == {}  # before the heartbeat notices: all goes
        assert client.call("PUT", "/ticket", {"x": 1}) == {}
        assert keeper.beat() == {slow.id}
        assert client.call("GET", "/ticket") == {}
        with pytest.raises(PlatformError, match=r"not sent: the lease of event \d+ was lost"):
            client.call("PUT", "/ticket", {"x": 2})
    assert sent == ["GET", "PUT", "GET"]
    keeper.release(slow)  # done with it here: a later event of this id (none) would write again
    with within_lease(str(slow.id)):
        client.call("PUT", "/ticket", {"x": 3})
    assert sent[-1] == "PUT"


def test_retention_prunes_old_done_events_in_batches_and_keeps_the_rest(store):
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    for n in range(25):
        store.add(event(str(n), f"old{n}"), b"{}", t0)
    for n in range(25):
        claimed = store.claim("w", t0, LEASE)
        if n < 20:
            store.finish(claimed, "w", {}, t0)
        else:
            store.dead_letter(claimed, "w", "HTTP 404", t0)
    store.add(event("new", "new1"), b"{}", t0 + timedelta(days=40))
    recent = store.claim("w", t0 + timedelta(days=40), LEASE)
    store.finish(recent, "w", {}, t0 + timedelta(days=40))
    store.add(event("waiting", "w1"), b"{}", t0)
    at = t0 + timedelta(days=45)
    assert store.prune(timedelta(days=30), ("done",), batch=7, now=at) == 20
    assert store.counts() == {"done": 1, "failed": 5, "pending": 1}
    assert store.prune(timedelta(days=30), ("failed",), batch=7, now=at) == 5
    assert store.backlog() == {"pending": 1, "processing": 0, "failed": 0}
    with pytest.raises(ValueError):
        store.prune(timedelta(days=1), ("pending",))


def test_processes_starting_together_on_an_empty_database_all_migrate(empty_database_url):
    command = [sys.executable, "-m", "connector", "migrate", "--database", empty_database_url]
    started = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(3)]
    results = [p.communicate(timeout=120) + (p.returncode,) for p in started]
    assert [code for _, _, code in results] == [0, 0, 0], [err for _, err, _ in results]
    assert all("schema at revision 0006_event_queue" in out for out, _, _ in results)


def test_events_prune_on_the_command_line(tmp_path, runner):
    from connector.cli import cli

    url = f"sqlite:///{tmp_path / 'c.db'}"
    (tmp_path / "c.toml").write_text(f'database_url = "{url}"\n[events]\nkeep_days = 10\n')
    from connector.storage import open_database

    engine = open_database(url)
    store = EventStore(engine)
    t0 = datetime.now(UTC) - timedelta(days=11)
    for n in range(3):
        store.add(event(str(n), f"d{n}"), b"{}", t0)
    store.finish(store.claim("w", t0, LEASE), "w", {}, t0)
    store.dead_letter(store.claim("w", t0, LEASE), "w", "HTTP 404", t0)
    engine.dispose()
    config = str(tmp_path / "c.toml")
    done = runner.invoke(cli, ["events", "prune", "--config", config])
    assert done.exit_code == 0 and done.output.strip() == "pruned 1 done event(s) that finished more than 10 day(s) ago"
    both = runner.invoke(cli, ["events", "--config", config, "prune", "--failed", "--older-than", "0"])
    assert both.exit_code == 0 and "pruned 0 done and 1 failed event(s)" in both.output
    listed = runner.invoke(cli, ["events", "--config", config, "--json"])
    assert listed.exit_code == 0 and '"status": "pending"' in listed.output


def test_the_health_counts_stop_at_their_cap(store):
    for n in range(5):
        store.add(event(str(n), f"d{n}"), b"{}")
    assert store.backlog() == {"pending": 5, "processing": 0, "failed": 0}
    assert store.backlog(cap=3) == {"pending": 3, "processing": 0, "failed": 0}
