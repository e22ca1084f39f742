"""The scheduler `connector serve` runs in a thread (not `connector worker`): the SLA alert job
every `alerts.every_seconds`, and the daily knowledge-base sync at `access.sync_at`, vendor time.

Job runs are recorded in `scheduler_jobs`. A daily job is claimed per day by a conditional
update of its row (`last_started_at` earlier than today's slot), so a restart does not run
today's sync again and two `serve` processes on one PostgreSQL database run it once between
them. A slot missed while no scheduler ran (stopped over `sync_at`) is caught up at start; on a
new database (the job never ran) the first run waits for `sync_at` (`connector kb sync` runs it
on demand). On stop, a running KB sync ends after its current batch.
Interval jobs are not claimed: the alert job is safe to run in several processes (each alert is
claimed on its own). A job's exception is logged and recorded; it never stops the thread.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone, tzinfo
from datetime import time as clock_time
from typing import Any, Callable, Sequence

from connector.core.errors import BadInput
from connector.storage.clocks import ClockStore
from connector.storage.moments import utcnow

log = logging.getLogger(__name__)
MAX_WAIT = 30.0  # seconds: the loop looks at the clock at least this often (suspend, clock jumps)


def parse_hhmm(text: str) -> clock_time:
    """"03:00" -> 03:00; BadInput otherwise."""
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
            return slot.astimezone(timezone.utc)
    raise AssertionError("unreachable: a day ago is always earlier")  # pragma: no cover


def next_daily(now: datetime, at: clock_time, zone: tzinfo) -> datetime:
    """The first moment at `at` local time in `zone` that is after `now` (UTC)."""
    day = now.astimezone(zone).date()
    for ahead in range(3):
        slot = _localize(zone, datetime.combine(day + timedelta(days=ahead), at))
        if slot > now:
            return slot.astimezone(timezone.utc)
    raise AssertionError("unreachable: two days on is always later")  # pragma: no cover


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

    def first(self, now: datetime) -> datetime:
        """When to look first: an interval job at once; a daily job at its latest slot (a missed
        run is caught up; a claim tells whether it ran already)."""
        return daily_slot(now, self.at, self.zone) if self.daily else now  # type: ignore[arg-type]

    def following(self, now: datetime) -> datetime:
        """The next time after a run (or a look) at `now`."""
        if not self.daily:
            return now + self.every  # type: ignore[operator]
        return next_daily(now, self.at, self.zone)  # type: ignore[arg-type]

    def describe(self, zone: tzinfo = timezone.utc) -> str:
        """For the startup line and logs; the next run shown in `zone`."""
        when = (f"daily at {self.at:%H:%M} {getattr(self.zone, 'zone', self.zone)}" if self.daily
                else f"every {self.every.total_seconds():g}s")  # type: ignore[union-attr]
        return f"{self.name} {when}" + (f", next {shown(self.next_at, zone)}" if self.next_at else "")


class Scheduler:
    """Runs jobs at their times until stopped; `tick()` is one look at the clock (for tests)."""

    def __init__(self, store: ClockStore, jobs: Sequence[Job] = (), clock: Callable[[], datetime] = utcnow,
                 max_wait: float = MAX_WAIT, zone: tzinfo = timezone.utc) -> None:
        self.store, self.jobs, self.clock, self.max_wait = store, [], clock, max_wait
        self.zone = zone  # for messages only
        self.stopping = threading.Event()  # the stop event `run` was given: long jobs may look at it
        for job in jobs:
            self.add(job)

    def add(self, job: Job) -> None:
        """Schedule a job. A daily job's missed run (its slot passed since its last run) is caught up
        at once; one that never ran (a new database) waits for its first slot."""
        now = self.clock()
        try:
            last = self.store.jobs().get(job.name, {}).get("last_started_at")
        except Exception:  # noqa: BLE001 - the first tick will say what is wrong
            log.exception("scheduler: cannot read the job runs")
            last = None
        job.next_at = job.first(now)
        if job.daily and (last is None or last >= job.next_at):
            job.next_at = job.following(now)
        self.jobs.append(job)

    def stopping_flag(self) -> bool:
        """Whether the scheduler is stopping (long jobs look at it between steps)."""
        return self.stopping.is_set()

    def describe(self) -> str:
        """The jobs and their next runs, for the startup line."""
        return "; ".join(job.describe(self.zone) for job in self.jobs) or "no jobs"

    def tick(self) -> list[tuple[str, str]]:
        """Run every job whose time has come; (name, outcome) of each one looked at."""
        outcomes = []
        for job in self.jobs:
            now = self.clock()
            if job.next_at is not None and job.next_at > now:
                continue
            outcomes.append((job.name, self._run(job, now)))
            job.next_at = job.following(self.clock() if not job.daily else now)
            log.info("scheduler: next %s at %s", job.name, shown(job.next_at, self.zone))
        return outcomes

    def _run(self, job: Job, now: datetime) -> str:
        """Claim (daily jobs), run, record; the outcome: a result, "error: ...", or "not claimed"."""
        try:
            if job.daily:
                slot = daily_slot(now, job.at, job.zone)  # type: ignore[arg-type]
                if not self.store.claim_job(job.name, slot, now):
                    log.info("scheduler: %s for %s ran already (here or in another process)", job.name,
                             shown(slot, self.zone))
                    return "not claimed"
            else:
                self.store.job_started(job.name, now)
        except Exception:  # the database went away: try again at the next time
            log.exception("scheduler: cannot record the start of %s", job.name)
            return "error: database"
        started = time.perf_counter()
        try:
            result = job.run()
            outcome = "ok" if result is None else str(result)
        except Exception as exc:  # noqa: BLE001 - logged and recorded; the scheduler goes on
            log.exception("scheduler: job %s failed", job.name)
            outcome = f"error: {type(exc).__name__}: {exc}"
        log.log(logging.WARNING if outcome.startswith("error") else logging.INFO,
                "scheduler: %s finished in %.1fs: %s", job.name, time.perf_counter() - started, outcome[:500])
        try:
            self.store.job_finished(job.name, self.clock(), outcome[:4000])
        except Exception:
            log.exception("scheduler: cannot record the end of %s", job.name)
        return outcome

    def wait_seconds(self) -> float:
        """How long to sleep until the next job is due (at most `max_wait`)."""
        now = self.clock()
        nearest = min((job.next_at for job in self.jobs if job.next_at is not None), default=None)
        if nearest is None:
            return self.max_wait
        return max(0.0, min(self.max_wait, (nearest - now).total_seconds()))

    def run(self, stop: threading.Event) -> None:
        """Tick until `stop` is set; returns promptly once it is (after a running job ends)."""
        self.stopping = stop
        log.info("scheduler: %s", self.describe())
        while not stop.is_set():
            try:
                self.tick()
            except Exception:  # noqa: BLE001 - never let the thread die
                log.exception("scheduler: unexpected error")
                stop.wait(1.0)
            stop.wait(self.wait_seconds())

    def start(self, stop: threading.Event) -> threading.Thread:
        """Run in a daemon thread that ends when `stop` is set."""
        thread = threading.Thread(target=self.run, args=(stop,), name="scheduler", daemon=True)
        thread.start()
        return thread
