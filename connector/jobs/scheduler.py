"""The scheduler `connector serve` runs (not `connector worker`): the SLA alert job every
`alerts.every_seconds`, event retention every `events.prune_every_seconds`, and the daily
knowledge-base sync at `access.sync_at`, vendor time.

Each job runs on its own thread, so a long nightly KB sync never delays the time-critical SLA
alerts. Each run is claimed in the database (`scheduler_jobs`), so only one instance of a job
runs across every `serve` process on one database: a conditional update of the job's row for
its slot (a daily job: today's `sync_at`; an interval job: the current multiple of its interval
since the epoch, so every process looks at the same moments and one of them wins). While a job
runs, a heartbeat stamps its row with the database's clock; a run whose heartbeat stopped (its
process died) is taken over by the next look, and a KB sync then resumes (it plans against the
platform's current state). A daily slot missed while no scheduler ran is caught up at start; on
a new database the first run waits for `sync_at` (`connector kb sync` runs it on demand). On
stop, a running KB sync ends after its current batch. A job's exception is logged and recorded;
it never stops its thread.

Why not APScheduler: its triggers would replace the two small rules below (an aligned interval,
a daily wall time in a zone, DST gaps included), but its job stores cannot be shared by several
schedulers (APScheduler 3's FAQ: "you can't"), and its misfire handling lives in one process's
memory, so the database claim would stay the source of truth for "once across the cluster" and
"caught up after a restart" all the same; it would add a dependency and threads we already have,
and a clock the tests could not drive.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from datetime import time as clock_time
from typing import Any

from connector.core.errors import BadInput
from connector.storage.clocks import ClockStore
from connector.storage.moments import utcnow

log = logging.getLogger(__name__)
MAX_WAIT = 30.0  # seconds: the loop looks at the clock at least this often (suspend, clock jumps)
STALE = timedelta(minutes=2)  # a run whose heartbeat is older than this has died: taken over
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def parse_hhmm(text: str) -> clock_time:
    """ "03:00" -> 03:00; BadInput otherwise."""
    try:
        hours, minutes = (int(part) for part in text.split(":"))
        return clock_time(hours, minutes)
    except (ValueError, TypeError):
        raise BadInput(f"not a time of day HH:MM: {text!r}", "access.sync_at") from None


def _localize(zone: tzinfo, naive: datetime) -> datetime:
    """A local wall time in `zone` (pytz zones need `localize`)."""
    localize = getattr(zone, "localize", None)
    return localize(naive) if localize else naive.replace(tzinfo=zone)


def daily_slot(now: datetime, at: clock_time, zone: tzinfo) -> datetime:
    """The latest moment at `at` local time in `zone` that is not after `now` (UTC)."""
    day = now.astimezone(zone).date()
    for back in range(3):  # today's, else yesterday's (a DST gap can skip a wall time: look further)
        slot = _localize(zone, datetime.combine(day - timedelta(days=back), at))
        if slot <= now:
            return slot.astimezone(UTC)
    raise AssertionError("unreachable: a day ago is always earlier")  # pragma: no cover


def next_daily(now: datetime, at: clock_time, zone: tzinfo) -> datetime:
    """The first moment at `at` local time in `zone` that is after `now` (UTC)."""
    day = now.astimezone(zone).date()
    for ahead in range(3):
        slot = _localize(zone, datetime.combine(day + timedelta(days=ahead), at))
        if slot > now:
            return slot.astimezone(UTC)
    raise AssertionError("unreachable: two days on is always later")  # pragma: no cover


def interval_slot(now: datetime, every: timedelta) -> datetime:
    """The latest multiple of `every` since the epoch that is not after `now`: the same moments
    in every process, so that one of them claims each run."""
    return EPOCH + every * ((now - EPOCH) // every)


def shown(moment: datetime, zone: tzinfo) -> str:
    """A moment for people: local time in `zone`, with its abbreviation."""
    local = moment.astimezone(zone)
    return f"{local:%Y-%m-%d %H:%M:%S} {local.tzname()}"


@dataclass
class Job:
    """A scheduled job: every `every` (an interval job), or daily at `at` in `zone`."""

    name: str
    run: Callable[[], Any]
    every: timedelta | None = None
    at: clock_time | None = None
    zone: tzinfo | None = None
    next_at: datetime | None = field(default=None, compare=False)

    @property
    def daily(self) -> bool:
        """Whether the job runs once a day (claimed across processes)."""
        return self.at is not None

    def _daily_at(self) -> tuple[clock_time, tzinfo]:
        """A daily job's time of day and zone."""
        assert self.at is not None and self.zone is not None, f"daily job {self.name} needs a time and a zone"
        return self.at, self.zone

    def _interval(self) -> timedelta:
        """An interval job's interval."""
        assert self.every is not None, f"job {self.name} needs an interval (every) or a time of day (at)"
        return self.every

    def slot(self, now: datetime) -> datetime:
        """The slot a run at `now` belongs to (claimed once across processes)."""
        if self.daily:
            return daily_slot(now, *self._daily_at())
        return interval_slot(now, self._interval())

    def first(self, now: datetime) -> datetime:
        """When to look first: an interval job at once; a daily job at its latest slot (a missed
        run is caught up; a claim tells whether it ran already)."""
        return daily_slot(now, *self._daily_at()) if self.daily else now

    def following(self, now: datetime) -> datetime:
        """The next time after a run (or a look) at `now`: the next slot."""
        if not self.daily:
            return interval_slot(now, self._interval()) + self._interval()
        return next_daily(now, *self._daily_at())

    def describe(self, zone: tzinfo = UTC) -> str:
        """For the startup line and logs; the next run shown in `zone`."""
        when = (
            f"daily at {self.at:%H:%M} {getattr(self.zone, 'zone', self.zone)}"
            if self.daily
            else f"every {self._interval().total_seconds():g}s"
        )
        return f"{self.name} {when}" + (f", next {shown(self.next_at, zone)}" if self.next_at else "")


class Scheduler:
    """Runs jobs at their times until stopped, each on its own thread (`start`); `tick()` is one
    look at the clock with the due jobs run in the caller's thread (tests, one-shot use)."""

    def __init__(
        self,
        store: ClockStore,
        jobs: Sequence[Job] = (),
        clock: Callable[[], datetime] = utcnow,
        max_wait: float = MAX_WAIT,
        zone: tzinfo = UTC,
        stale: timedelta = STALE,
    ) -> None:
        self.store, self.clock, self.max_wait = store, clock, max_wait
        self.jobs: list[Job] = []
        self.zone = zone  # for messages only
        self.stale = stale
        self.owner = f"{socket.gethostname()}:{os.getpid()}"
        self.stopping = threading.Event()  # the stop event `run` was given: long jobs may look at it
        self._running: set[str] = set()  # jobs running in this process (their heartbeat)
        self._lock = threading.Lock()
        for job in jobs:
            self.add(job)

    def add(self, job: Job) -> None:
        """Schedule a job. A daily job's missed run (its slot passed since its last run) is caught up
        at once, and so is a run that never finished (its process may have died: the claim tells);
        one that never ran (a new database) waits for its first slot."""
        now = self.clock()
        try:
            last = self.store.jobs().get(job.name, {})
        except Exception:  # noqa: BLE001 - the first tick will say what is wrong
            log.exception("scheduler: cannot read the job runs")
            last = {}
        started, finished = last.get("last_started_at"), last.get("last_finished_at")
        job.next_at = job.first(now)
        unfinished = started is not None and (finished is None or finished < started)
        if job.daily and not unfinished and (started is None or started >= job.next_at):
            job.next_at = job.following(now)
        self.jobs.append(job)

    def stopping_flag(self) -> bool:
        """Whether the scheduler is stopping (long jobs look at it between steps)."""
        return self.stopping.is_set()

    def describe(self) -> str:
        """The jobs and their next runs, for the startup line."""
        return "; ".join(job.describe(self.zone) for job in self.jobs) or "no jobs"

    def tick(self) -> list[tuple[str, str]]:
        """Run every job whose time has come, one after the other; (name, outcome) of each."""
        outcomes = []
        for job in self.jobs:
            now = self.clock()
            if job.next_at is not None and job.next_at > now:
                continue
            outcomes.append((job.name, self._look(job, now)))
        return outcomes

    def _look(self, job: Job, now: datetime) -> str:
        """Run the job if its slot is claimed; set its next time; the outcome."""
        outcome = self._run(job, now)
        if outcome == "not claimed" and self._running_elsewhere(job):
            job.next_at = now + self.stale  # look again: if that process died, take its run over
        else:
            job.next_at = job.following(self.clock() if not job.daily else now)
        log.info("scheduler: next %s at %s", job.name, shown(job.next_at, self.zone))
        return outcome

    def _running_elsewhere(self, job: Job) -> bool:
        try:
            last = self.store.jobs().get(job.name, {})
        except Exception:  # noqa: BLE001 - the database is away: the next slot will tell
            return False
        started, finished = last.get("last_started_at"), last.get("last_finished_at")
        return started is not None and (finished is None or finished < started)

    def _run(self, job: Job, now: datetime) -> str:
        """Claim, run, record; the outcome: a result, "error: ...", or "not claimed"."""
        slot = job.slot(now)
        try:
            if not self.store.claim_job(job.name, slot, now, self.owner, self.stale):
                log.info("scheduler: %s for %s ran already or runs elsewhere", job.name, shown(slot, self.zone))
                return "not claimed"
        except Exception:  # the database went away: try again at the next time
            log.exception("scheduler: cannot record the start of %s", job.name)
            return "error: database"
        with self._lock:
            self._running.add(job.name)
        started = time.perf_counter()
        try:
            result = job.run()
            outcome = "ok" if result is None else str(result)
        except Exception as exc:  # noqa: BLE001 - logged and recorded; the scheduler goes on
            log.exception("scheduler: job %s failed", job.name)
            outcome = f"error: {type(exc).__name__}: {exc}"
        finally:
            with self._lock:
                self._running.discard(job.name)
        log.log(
            logging.WARNING if outcome.startswith("error") else logging.INFO,
            "scheduler: %s finished in %.1fs: %s",
            job.name,
            time.perf_counter() - started,
            outcome[:500],
        )
        try:
            self.store.job_finished(job.name, self.clock(), outcome[:4000])
        except Exception:
            log.exception("scheduler: cannot record the end of %s", job.name)
        return outcome

    def beat(self) -> None:
        """The heartbeat of the jobs running in this process (the database's clock)."""
        with self._lock:
            names = sorted(self._running)
        if names:
            self.store.job_heartbeat(names, self.owner)

    def wait_seconds(self, jobs: Sequence[Job] | None = None) -> float:
        """How long to sleep until the next of `jobs` (default: all) is due (at most `max_wait`)."""
        now = self.clock()
        nearest = min((job.next_at for job in (jobs or self.jobs) if job.next_at is not None), default=None)
        if nearest is None:
            return self.max_wait
        return max(0.0, min(self.max_wait, (nearest - now).total_seconds()))

    def _loop(self, job: Job, stop: threading.Event) -> None:
        """One job's thread: look when it is due, until `stop` is set."""
        while not stop.is_set():
            try:
                if job.next_at is None or job.next_at <= self.clock():
                    self._look(job, self.clock())
            except Exception:  # noqa: BLE001 - never let the thread die
                log.exception("scheduler: unexpected error in %s", job.name)
                stop.wait(1.0)
            stop.wait(self.wait_seconds([job]))

    def _heartbeat(self, stop: threading.Event) -> None:
        while not stop.wait(min(self.max_wait, self.stale.total_seconds() / 4)):
            try:
                self.beat()
            except Exception:  # noqa: BLE001 - the next beat tries again
                log.exception("scheduler: cannot record the heartbeat")

    def start(self, stop: threading.Event) -> Running:
        """Run each job on a daemon thread of its own, and their heartbeat, until `stop` is set."""
        self.stopping = stop
        log.info("scheduler: %s", self.describe())
        threads = [
            threading.Thread(target=self._loop, args=(job, stop), name=f"job-{job.name}", daemon=True)
            for job in self.jobs
        ]
        threads.append(threading.Thread(target=self._heartbeat, args=(stop,), name="job-heartbeat", daemon=True))
        for thread in threads:
            thread.start()
        return Running(threads)


class Running:
    """The scheduler's threads, joined together."""

    def __init__(self, threads: Sequence[threading.Thread]) -> None:
        self.threads = list(threads)

    def join(self, timeout: float | None = None) -> None:
        """Wait for every thread, `timeout` seconds in all."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in self.threads:
            thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))

    def is_alive(self) -> bool:
        """Whether any thread still runs."""
        return any(thread.is_alive() for thread in self.threads)
