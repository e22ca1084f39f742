"""The worker's retry policy: Retry-After, exponential backoff with jitter, a retry window,
then a dead letter; permanent errors dead-letter at once; bugs never lose the event."""

from datetime import UTC, datetime, timedelta

import pytest

from connector.config.settings import WORKER_DEFAULTS
from connector.core.errors import BadInput, PlatformError, PlatformRejected
from connector.core.events import TicketEvent
from connector.pipeline.worker import Worker
from connector.storage.events import EventStore

T0 = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


class ScriptedProcessor:
    """Raises the scripted errors in turn, then succeeds."""

    def __init__(self, *outcomes):
        self.outcomes = list(outcomes)
        self.calls = 0

    def process(self, event):
        self.calls += 1
        outcome = self.outcomes.pop(0) if self.outcomes else None
        if isinstance(outcome, Exception):
            raise outcome
        return {"ticket": event.ticket_id}


class Clock:
    def __init__(self):
        self.now = T0

    def __call__(self):
        return self.now


@pytest.fixture
def setup(engine):
    store = EventStore(engine)
    store.add(TicketEvent("zendesk", "7", "ticket.created", "d1"), b"{}", T0)
    clock = Clock()

    def make(*outcomes):
        processor = ScriptedProcessor(*outcomes)
        return Worker(store, processor, WORKER_DEFAULTS, clock=clock), processor

    return store, clock, make


def test_success_is_done_with_its_result(setup):
    store, clock, make = setup
    worker, _ = make()
    assert worker.run_once() and not worker.run_once()
    assert [(e.status, e.result) for e in store.list()] == [("done", {"ticket": "7"})]


def test_429_waits_exactly_retry_after(setup):
    store, clock, make = setup
    worker, processor = make(PlatformError("rate limited", 429, retry_after=42))
    worker.run_once()
    (e,) = store.list()
    assert (e.status, e.attempts, e.next_attempt_at, e.last_error) == (
        "pending",
        1,
        T0 + timedelta(seconds=42),
        "rate limited",
    )
    clock.now = T0 + timedelta(seconds=41)
    assert not worker.run_once()
    clock.now = T0 + timedelta(seconds=42)
    assert worker.run_once() and store.list()[0].status == "done" and processor.calls == 2


def test_5xx_backs_off_exponentially_with_jitter_then_dead_letters_after_the_window(setup):
    store, clock, make = setup
    worker, processor = make(*[PlatformError("HTTP 503", 503)] * 1000)
    delays = []
    while store.list()[0].status == "pending":
        before = clock.now
        assert worker.run_once()
        e = store.list()[0]
        if e.status == "pending":
            delays.append((e.next_attempt_at - before).total_seconds())
            clock.now = e.next_attempt_at
    e = store.list()[0]
    assert e.status == "failed" and e.last_error == "HTTP 503"
    assert clock.now - T0 >= timedelta(seconds=WORKER_DEFAULTS["retry_window_seconds"])
    base, cap = WORKER_DEFAULTS["backoff_base_seconds"], WORKER_DEFAULTS["backoff_cap_seconds"]
    for attempt, delay in enumerate(delays):
        nominal = min(cap, base * 2**attempt)
        assert 0.5 * nominal <= delay <= 1.5 * nominal
    assert len(set(delays)) > 1 and max(delays) <= 1.5 * cap


@pytest.mark.parametrize("error", [PlatformRejected("HTTP 404: no such ticket", 404), BadInput("no requester")])
def test_permanent_errors_dead_letter_at_once(setup, error):
    store, clock, make = setup
    worker, _ = make(error)
    worker.run_once()
    (e,) = store.list("failed")
    assert e.attempts == 1 and str(error) in e.last_error


def test_an_unexpected_exception_keeps_the_event_for_a_retry(setup):
    store, clock, make = setup
    worker, _ = make(KeyError("surprise"))
    worker.run_once()
    (e,) = store.list()
    assert e.status == "pending" and "KeyError" in e.last_error


def test_serve_workers_let_webhooks_in_flight_go_first():
    import threading
    import time

    from connector.pipeline.worker import Webhooks

    gate = Webhooks(patience=0.5)
    started = time.monotonic()
    gate.wait_quiet()
    assert time.monotonic() - started < 0.1  # nothing in flight: no wait
    gate.enter()
    threading.Timer(0.1, gate.leave).start()
    started = time.monotonic()
    gate.wait_quiet()
    assert 0.05 < time.monotonic() - started < 0.45  # until the answer, not the whole patience
    gate.enter()
    started = time.monotonic()
    gate.wait_quiet()
    assert time.monotonic() - started >= 0.45  # a request that takes long: the worker goes on after its patience
