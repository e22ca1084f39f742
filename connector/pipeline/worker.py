"""The worker: claims stored events one at a time (leased), processes them, and retries
transient platform failures with exponential backoff and jitter until the retry window is
over; then the event is dead-lettered with its last error. Nothing is dropped silently.

Nothing sleeps inside a lease: the platform calls an event makes never wait (`within_lease`),
so a 429 or 5xx ends the attempt and the event goes back to the queue, durably, with its
Retry-After or backoff. While an event is processed, the process's `LeaseKeeper` renews its
lease (a heartbeat), so a slow event is never taken by a second worker; only a worker that
stops beating (killed, frozen, cut off from the database) loses its events.

Moments come from the database's clock: the claim returns it, and the worker adds the time
elapsed since (a monotonic clock), so no two hosts' clocks are ever compared. Processing runs
in a unit of work (`connector.storage.unit`): its reads share one connection and its writes
commit with the event's settlement, one transaction besides the claim.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, Protocol

from connector.core.errors import ConnectorError, PlatformError
from connector.pipeline.metrics import Metrics
from connector.platforms.client import lease_lost, lease_released, within_lease
from connector.storage.events import EventStore, StoredEvent
from connector.storage.moments import utcnow
from connector.storage.unit import unit_of_work

log = logging.getLogger(__name__)


class LeaseKeeper:
    """The heartbeat of one process's workers: every `lease / 3` it renews, in one statement,
    the leases of the events they hold."""

    def __init__(self, store: EventStore, lease: timedelta) -> None:
        self.store, self.lease = store, lease
        self.interval = max(0.05, lease.total_seconds() / 3)
        self._held: dict[int, str] = {}
        self._lock = threading.Lock()

    def hold(self, event: StoredEvent, owner: str) -> None:
        """Keep `event`'s lease alive until `release`."""
        lease_released(str(event.id))  # a new claim of it starts with its lease held
        with self._lock:
            self._held[event.id] = owner

    def release(self, event: StoredEvent) -> None:
        """Stop renewing `event`'s lease."""
        with self._lock:
            self._held.pop(event.id, None)
        lease_released(str(event.id))

    def beat(self) -> set[int]:
        """Renew every held lease once; the ids whose lease was lost (another worker has them)."""
        with self._lock:
            held = list(self._held.items())
        if not held:
            return set()
        lost = {event_id for event_id, _ in held} - self.store.renew(held, self.lease)
        for event_id in lost:
            lease_lost(str(event_id))  # its remaining writes are refused: they would race the new holder
            log.warning("event %s: lease lost (not renewed in time); another worker may take it", event_id)
        return lost

    def run(self, stop: threading.Event) -> None:
        """Beat until `stop` is set; a database outage is logged and the beat goes on."""
        while not stop.wait(self.interval):
            try:
                self.beat()
            except Exception:  # noqa: BLE001 - the next beat tries again
                log.exception("lease heartbeat: cannot reach the event store")


class Webhooks:
    """Webhook requests in flight in this process. A worker of `connector serve` waits for a
    moment without any before it starts its next event: answers are what platforms time, and
    the interpreter (and, on SQLite, the write lock) is shared with the webhook threads."""

    def __init__(self, patience: float = 0.05) -> None:
        self.patience = patience
        self._inflight = 0
        self._quiet = threading.Condition()

    def enter(self) -> None:
        """A request has started."""
        with self._quiet:
            self._inflight += 1

    def leave(self) -> None:
        """A request has been answered."""
        with self._quiet:
            self._inflight -= 1
            if self._inflight <= 0:
                self._quiet.notify_all()

    def wait_quiet(self) -> None:
        """Until no request is in flight, or `patience` seconds at most."""
        with self._quiet:
            self._quiet.wait_for(lambda: self._inflight <= 0, timeout=self.patience)


class EventClock:
    """The database's clock as of a claim, advanced by this host's monotonic clock."""

    def __init__(self, anchor: datetime) -> None:
        self.anchor, self.started = anchor, time.monotonic()

    def __call__(self) -> datetime:
        return self.anchor + timedelta(seconds=time.monotonic() - self.started)


class EventProcessor(Protocol):
    """What a worker needs of the processor (connector.pipeline.process.Processor): an event
    processed, the record of what it did."""

    def process(self, event: StoredEvent) -> dict[str, Any]: ...


class Worker:
    """One worker thread's loop over the event store. `clock` None: the database's clock
    (production); tests give one."""

    def __init__(
        self,
        store: EventStore,
        processor: EventProcessor,
        settings: Mapping[str, Any],
        metrics: Metrics | None = None,
        clock: Callable[[], datetime] | None = None,
        name: str = "w",
        leases: LeaseKeeper | None = None,
        webhooks: Webhooks | None = None,
    ) -> None:
        self.store, self.processor, self.settings = store, processor, settings
        self.metrics = metrics or Metrics()
        self.clock = clock
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{name}"
        self.lease = timedelta(seconds=settings["lease_seconds"])
        self.leases = leases
        self.webhooks = webhooks

    def backoff(self, event: StoredEvent, error: PlatformError) -> timedelta:
        """Retry-After when the platform gave one, else base * 2^attempts with jitter, capped."""
        if error.retry_after is not None:
            return timedelta(seconds=error.retry_after)
        base, cap = self.settings["backoff_base_seconds"], self.settings["backoff_cap_seconds"]
        return timedelta(seconds=min(cap, base * 2**event.attempts) * random.uniform(0.5, 1.5))

    def run_once(self) -> bool:
        """Process one claimable event; False when there was none."""
        if self.webhooks is not None:
            self.webhooks.wait_quiet()
        event = self.store.claim(self.owner, self.clock() if self.clock else None, self.lease)
        if event is None:
            return False
        clock = self.clock or EventClock(event.claimed_at or utcnow())
        started = time.perf_counter()
        if self.leases is not None:
            self.leases.hold(event, self.owner)
        try:
            self._process(event, clock)
        finally:
            if self.leases is not None:
                self.leases.release(event)
        self.metrics.latency.labels(event.platform).observe(time.perf_counter() - started)
        return True

    def _process(self, event: StoredEvent, clock: Callable[[], datetime]) -> None:
        """Process under the lease, in one unit of work; settle the outcome."""
        try:
            with unit_of_work(self.store.engine) as unit, within_lease(str(event.id)):
                result = self.processor.process(event)
                done = unit.commit(lambda conn: self.store.finish(event, self.owner, result, clock(), conn))
        except PlatformError as exc:
            self._failed(event, exc, clock, transient=exc.transient)
        except ConnectorError as exc:
            self._failed(event, exc, clock, transient=False)
        except Exception as exc:  # a bug or an unforeseen answer: keep the event, retry later
            log.exception("event %s: unexpected error", event.id)
            self._failed(event, PlatformError(f"{type(exc).__name__}: {exc}"), clock, transient=True)
        else:
            if not done:
                log.warning("event %s: lease lost before finishing; another worker redoes it", event.id)
            self.metrics.processed.labels(event.platform).inc()

    def _failed(
        self, event: StoredEvent, error: ConnectorError, clock: Callable[[], datetime], transient: bool
    ) -> None:
        now = clock()
        first = event.first_failed_at or now
        window = timedelta(seconds=self.settings["retry_window_seconds"])
        message = str(error)
        if transient and isinstance(error, PlatformError) and now - first < window:  # platform errors only
            delay = self.backoff(event, error)
            self.store.retry(event, self.owner, message, delay, now)
            self.metrics.failed.labels(event.platform, "retried").inc()
            log.warning(
                "event %s (%s ticket %s): %s; retry in %.1f s",
                event.id,
                event.platform,
                event.ticket_id,
                message,
                delay.total_seconds(),
            )
        else:
            self.store.dead_letter(event, self.owner, message, now)
            self.metrics.failed.labels(event.platform, "dead").inc()
            log.error("event %s (%s ticket %s) failed for good: %s", event.id, event.platform, event.ticket_id, message)

    def run(self, stop: threading.Event) -> None:
        """Work until `stop` is set, polling when idle."""
        while not stop.is_set():
            try:
                busy = self.run_once()
            except Exception:  # the database went away: log, wait, try again
                log.exception("worker %s: cannot reach the event store", self.owner)
                busy = False
            if not busy:
                stop.wait(self.settings["poll_seconds"])
