"""The worker: claims stored events one at a time (leased), processes them, and retries
transient platform failures with exponential backoff and jitter until the retry window is
over; then the event is dead-lettered with its last error. Nothing is dropped silently."""
from __future__ import annotations

import logging
import os
import random
import socket
import threading
import time
from datetime import datetime, timedelta
from typing import Any, Callable, Mapping

from connector.core.errors import ConnectorError, PlatformError
from connector.pipeline.metrics import Metrics
from connector.pipeline.process import Processor
from connector.storage.events import EventStore, StoredEvent
from connector.storage.moments import utcnow

log = logging.getLogger(__name__)


class Worker:
    """One worker thread's loop over the event store."""

    def __init__(self, store: EventStore, processor: Processor, settings: Mapping[str, Any],
                 metrics: Metrics | None = None, clock: Callable[[], datetime] = utcnow, name: str = "w") -> None:
        self.store, self.processor, self.settings = store, processor, settings
        self.metrics = metrics or Metrics()
        self.clock = clock
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{name}"
        self.lease = timedelta(seconds=settings["lease_seconds"])

    def backoff(self, event: StoredEvent, error: PlatformError) -> timedelta:
        """Retry-After when the platform gave one, else base * 2^attempts with jitter, capped."""
        if error.retry_after is not None:
            return timedelta(seconds=error.retry_after)
        base, cap = self.settings["backoff_base_seconds"], self.settings["backoff_cap_seconds"]
        return timedelta(seconds=min(cap, base * 2 ** event.attempts) * random.uniform(0.5, 1.5))

    def run_once(self) -> bool:
        """Process one claimable event; False when there was none."""
        now = self.clock()
        event = self.store.claim(self.owner, now, self.lease)
        if event is None:
            return False
        started = time.perf_counter()
        try:
            result = self.processor.process(event)
        except PlatformError as exc:
            self._failed(event, exc, transient=exc.transient)
        except ConnectorError as exc:
            self._failed(event, exc, transient=False)
        except Exception as exc:  # a bug or an unforeseen answer: keep the event, retry later
            log.exception("event %s: unexpected error", event.id)
            self._failed(event, PlatformError(f"{type(exc).__name__}: {exc}"), transient=True)
        else:
            # the ticket was read after `now`: events of it received before then are covered too
            if not self.store.finish(event, self.owner, result, self.clock(), covers_until=now):
                log.warning("event %s: lease lost before finishing; another worker redoes it", event.id)
            self.metrics.processed.labels(event.platform).inc()
        self.metrics.latency.labels(event.platform).observe(time.perf_counter() - started)
        return True

    def _failed(self, event: StoredEvent, error: ConnectorError, transient: bool) -> None:
        now = self.clock()
        first = event.first_failed_at or now
        window = timedelta(seconds=self.settings["retry_window_seconds"])
        message = str(error)
        if transient and now - first < window:
            at = now + self.backoff(event, error)  # type: ignore[arg-type]
            self.store.retry(event, self.owner, message, at, now)
            self.metrics.failed.labels(event.platform, "retried").inc()
            log.warning("event %s (%s ticket %s): %s; retry at %s", event.id, event.platform,
                        event.ticket_id, message, at.isoformat(timespec="seconds"))
        else:
            self.store.dead_letter(event, self.owner, message, now)
            self.metrics.failed.labels(event.platform, "dead").inc()
            log.error("event %s (%s ticket %s) failed for good: %s", event.id, event.platform,
                      event.ticket_id, message)

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
