"""Prometheus metrics of one connector process (own registry, so tests and apps don't collide)."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST


class Metrics:
    """Events received/processed/failed, processing latency, platform calls by status."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.received = Counter(
            "connector_events_received_total",
            "Webhook deliveries answered, by outcome",
            ["platform", "outcome"],
            registry=self.registry,
        )
        self.processed = Counter(
            "connector_events_processed_total", "Events processed to the end", ["platform"], registry=self.registry
        )
        self.failed = Counter(
            "connector_events_failed_total",
            "Event attempts that failed, by kind",
            ["platform", "kind"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "connector_event_processing_seconds",
            "Time to process one event",
            ["platform"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
        )
        self.platform_calls = Counter(
            "connector_platform_calls_total",
            "Calls to platform APIs, by HTTP status (or timeout, unreachable)",
            ["platform", "status"],
            registry=self.registry,
        )

    def platform_call(self, platform: str) -> Callable[[str, int | str], None]:
        """A PlatformClient `on_response` hook counting calls of one platform by HTTP status, or
        `timeout` / `unreachable` when no answer came."""
        return lambda _path, status: self.platform_calls.labels(platform, str(status)).inc()

    def render(self) -> bytes:
        """The Prometheus text exposition."""
        return generate_latest(self.registry)
