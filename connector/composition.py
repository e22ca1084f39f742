"""Everything a running connector holds, built once from the config: the database, the event
store, the configured platform adapters (with their API clients), the rules and the metrics."""
from __future__ import annotations

from dataclasses import dataclass, field
from sqlalchemy.engine import Engine

from connector.config.settings import Config
from connector.core.entitlement import Rulebook
from connector.config.rules import rulebook
from connector.pipeline.metrics import Metrics
from connector.platforms import adapter_class
from connector.platforms.base import Adapter
from connector.storage import open_database
from connector.storage.events import EventStore


@dataclass
class Runtime:
    """The connector's long-lived parts."""

    config: Config
    engine: Engine
    adapters: dict[str, Adapter]
    rules: Rulebook
    metrics: Metrics = field(default_factory=Metrics)

    @property
    def store(self) -> EventStore:
        """The webhook event store."""
        return EventStore(self.engine)

    def processor(self, clock=None):
        """The event processor with the config's after-steps (clocks, KB access, portal)."""
        from connector.pipeline.after import after_steps
        from connector.pipeline.process import Processor

        extra = {"clock": clock} if clock is not None else {}
        return Processor(self.engine, self.adapters, self.rules, after=after_steps(self), **extra)

    def close(self) -> None:
        """Release database connections."""
        self.engine.dispose()


def build_runtime(config: Config, metrics: Metrics | None = None) -> Runtime:
    """Open the database (migrating it) and build the enabled platforms' adapters."""
    metrics = metrics or Metrics()
    adapters: dict[str, Adapter] = {}
    for name, settings in config.platforms.items():
        cls = adapter_class(name)
        client = cls.client_for(settings) if settings.base_url else None  # type: ignore[attr-defined]
        if client is not None:
            client.on_response = metrics.platform_call(name)
        adapters[name] = cls(settings, client)
    rules = rulebook(config.policy)
    return Runtime(config, open_database(config.database_url), adapters, rules, metrics)
