"""The composition root: the one place that builds a running connector from its config.

It opens the database, builds the configured platforms' adapters with their API clients, and
wires the services with explicit arguments: the event processor with its after-steps (the
clock recorder, the KB keeper), workers and their lease heartbeat, the SLA alert job, the KB
sync job, event retention and the scheduler.
Nothing below it imports it; the CLI and the web app are built on what it returns.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from connector.config.rules import rulebook
from connector.config.schemas import require
from connector.config.settings import Config, PlatformSettings, load_config
from connector.core.entitlement import Rulebook
from connector.core.errors import ConnectorError, ValidationFailed
from connector.jobs.scheduler import Job, Scheduler, parse_hhmm
from connector.jobs.sla_alerts import AlertJob
from connector.kb.keeper import AccessKeeper
from connector.kb.sync import sync_all
from connector.pipeline.clocks import ClockRecorder
from connector.pipeline.ledger import LedgerRecorder
from connector.pipeline.metrics import Metrics
from connector.pipeline.process import AfterProcessing, Processor
from connector.pipeline.worker import LeaseKeeper, Webhooks, Worker
from connector.platforms import adapter_class, settings_schemas
from connector.platforms.base import Adapter
from connector.storage import open_database
from connector.storage.clocks import ClockStore
from connector.storage.events import EventStore
from connector.storage.ledger import LedgerStore
from connector.storage.moments import utcnow

ALERTS, KB_SYNC, PRUNE = "sla_alerts", "kb_sync", "events_prune"


def configuration(path: str | Path | None = None) -> Config:
    """The config file (else $CONNECTOR_CONFIG, else the defaults), each platform's section checked
    against its adapter's settings schema and its adapter's own checks."""
    config = load_config(path, settings_schemas())
    for name, settings in config.platforms.items():
        check_platform(adapter_class(name), settings)
    return config


def check_platform(cls: type[Adapter], settings: PlatformSettings) -> None:
    """Refuse settings the adapter finds wrong beyond its schema (every problem, by its key)."""
    problems = list(cls.check_settings(settings))
    if problems:
        raise ValidationFailed(f"platforms.{settings.name} is misconfigured ({len(problems)} problem(s))", problems)


class SyncStopped(ConnectorError):
    """The scheduler is stopping: the KB sync ends after its current batch (recorded; the next
    sync resumes, as after a platform failure half-way)."""


@dataclass
class Connector:
    """A running connector's long-lived parts, built by `compose`."""

    config: Config
    engine: Engine
    adapters: dict[str, Adapter]
    rules: Rulebook
    metrics: Metrics = field(default_factory=Metrics)
    webhooks: Webhooks = field(default_factory=Webhooks)  # requests in flight: serve's workers let them go first

    @property
    def store(self) -> EventStore:
        """The webhook event store."""
        return EventStore(self.engine)

    @property
    def clocks(self) -> ClockStore:
        """The recorded SLA clocks, alerts and scheduler runs."""
        return ClockStore(self.engine)

    @property
    def ledger(self) -> LedgerStore:
        """The ticket ledger (one row per processed ticket)."""
        return LedgerStore(self.engine)

    def after_steps(self) -> list[AfterProcessing]:
        """Record the ticket's SLA clocks (for alerts and recompute) and its ledger row (reports,
        the status page); keep the requester's KB access and portal registration right (when the
        config's [access] asks for it)."""
        steps: list[AfterProcessing] = [ClockRecorder(self.clocks, self.rules), LedgerRecorder(self.ledger)]
        access = self.config.access
        if access.get("kb", True) or access.get("register_portal_users", True):
            steps.append(AccessKeeper(self.engine, self.rules, access))
        return steps

    def processor(self, clock: Callable[[], datetime] = utcnow) -> Processor:
        """The event processor with the config's after-steps."""
        return Processor(self.engine, self.adapters, self.rules, clock=clock, after=self.after_steps())

    def worker(self, processor: Processor, name: str = "w", leases: LeaseKeeper | None = None) -> Worker:
        """One worker loop over the event store (on the database's clock)."""
        return Worker(
            self.store, processor, self.config.worker, self.metrics, name=name, leases=leases, webhooks=self.webhooks
        )

    def alert_job(
        self, clock: Callable[[], datetime] = utcnow, stopping: Callable[[], bool] = lambda: False
    ) -> AlertJob:
        """The SLA alert job on the config's `[alerts]`; it ends early (after the clock at hand)
        once `stopping()`."""
        return AlertJob(self.clocks, self.adapters, self.rules, self.config.alerts, clock, stopping=stopping)

    def kb_sync_job(self, stopping: Callable[[], bool]) -> Callable[[], Any]:
        """The daily KB sync of every platform with a lever, as a scheduler job."""

        def progress(_platform: str, _done: int, _total: int) -> None:
            if stopping():
                raise SyncStopped("the connector is stopping; the next sync resumes")

        def run() -> Any:
            reports = sync_all(
                self.engine, self.rules, self.adapters, self.config.access, origin="scheduler", progress=progress
            )
            lines = [report.summary() for report in reports]
            errors = [f"{report.platform}: {report.error}" for report in reports if report.error]
            if errors:
                return "error: " + "; ".join(errors + lines)
            return "; ".join(lines) or "no platform with a KB lever"

        return run

    def prune_job(self, stopping: Callable[[], bool]) -> Callable[[], Any]:
        """Event retention: done events older than `[events] keep_days`, in batches."""
        events = self.config.events

        def run() -> str:
            days = float(events["keep_days"])
            pruned = self.store.prune(timedelta(days=days), ("done",), int(events["prune_batch"]), stopping)
            return f"pruned {pruned} done event(s) older than {days:g} day(s)"

        return run

    def scheduler(
        self,
        clock: Callable[[], datetime] = utcnow,
        alert_job: Callable[[], Any] | None = None,
        kb_sync: Callable[[], Any] | None = None,
        prune: Callable[[], Any] | None = None,
    ) -> Scheduler:
        """The scheduler of the config: the alert job (when alerts are enabled), event retention
        and the daily KB sync (when the config manages KB access, or a platform keeps a mailing
        tag). Jobs may be injected (tests)."""
        config, zone = self.config, self.rules.vendor_calendar.zone
        scheduler = Scheduler(self.clocks, (), clock, zone=zone)
        stopping = scheduler.stopping_flag
        if config.alerts.get("enabled", True):
            every = timedelta(seconds=float(config.alerts.get("every_seconds", 60)))
            scheduler.add(Job(ALERTS, alert_job or self.alert_job(clock, stopping).run, every=every))
        every = timedelta(seconds=float(config.events["prune_every_seconds"]))
        scheduler.add(Job(PRUNE, prune or self.prune_job(stopping), every=every))
        if config.access.get("kb", True) or any("mailing" in a.supports for a in self.adapters.values()):
            at = parse_hhmm(config.access.get("sync_at", "03:00"))
            scheduler.add(Job(KB_SYNC, kb_sync or self.kb_sync_job(stopping), at=at, zone=zone))
        return scheduler

    def start_workers(self, count: int, stop: threading.Event) -> list[threading.Thread]:
        """`count` worker threads sharing one processor, and the heartbeat that renews their
        leases, until `stop` is set."""
        if count <= 0:
            return []
        processor = self.processor()
        leases = LeaseKeeper(self.store, timedelta(seconds=self.config.worker["lease_seconds"]))
        threads = [
            threading.Thread(
                target=self.worker(processor, f"w{i}", leases).run, args=(stop,), name=f"worker-{i}", daemon=True
            )
            for i in range(count)
        ]
        threads.append(threading.Thread(target=leases.run, args=(stop,), name="lease-heartbeat", daemon=True))
        for thread in threads:
            thread.start()
        return threads

    def close(self) -> None:
        """Release database connections."""
        self.engine.dispose()


def adapters_for(config: Config, metrics: Metrics) -> dict[str, Adapter]:
    """The enabled platforms' adapters, each with its API client (when it has a base URL)."""
    adapters: dict[str, Adapter] = {}
    for name, settings in config.platforms.items():
        cls = adapter_class(name)
        require(cls.schema_name(), f"platform {name}")  # never a 500 at the first delivery
        check_platform(cls, settings)
        client = cls.client_for(settings) if settings.base_url else None
        if client is not None:
            client.on_response = metrics.platform_call(name)
            client.timeout = float(config.worker["platform_timeout_seconds"])
        adapters[name] = cls(settings, client)
    return adapters


def connections(config: Config) -> int:
    """How many threads of one process use the database at once: `serve`'s web threads, its
    workers, their heartbeat and the scheduler's jobs (the pool keeps that many open)."""
    return int(config.server["threads"]) + int(config.worker["threads"]) + 4


def compose(config: Config, metrics: Metrics | None = None) -> Connector:
    """Open the database (migrating it), build the adapters and the rules of `config`."""
    metrics = metrics or Metrics()
    adapters = adapters_for(config, metrics)
    engine = open_database(config.database_url, connections(config))
    return Connector(config, engine, adapters, rulebook(config.policy), metrics)
