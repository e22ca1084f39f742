"""The after-step that records each ticket's SLA clocks as read at processing time: that is
enough to know, later and without the platform, how much of a target is used at any moment
(`connector.core.alerts`; the alert job and `connector recompute` read them). It runs in dry-run
too: the record is the connector's own."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from connector.core.alerts import StoredClock
from connector.core.entitlement import Entitlement, Rulebook
from connector.core.sla import SlaReading
from connector.core.ticket import Ticket, WriteBack
from connector.platforms.base import Adapter
from connector.storage.clocks import ClockStore


def stored_clock(
    adapter: Adapter, ticket: Ticket, metric: str, reading: SlaReading, calendar: Any, tier: str | None, now: datetime
) -> StoredClock:
    """A clock reading as a `ticket_clocks` row."""
    return StoredClock(
        adapter.settings.name or adapter.name,
        ticket.id,
        metric,
        reading.state,
        reading.target,
        reading.elapsed,
        now,
        reading.due,
        reading.breached_at,
        json.dumps(calendar, sort_keys=True, default=str),
        tier,
    )


class ClockRecorder:
    """The after-step that records a ticket's first-response and resolution clocks."""

    def __init__(self, store: ClockStore, rules: Rulebook) -> None:
        self.store, self.rules = store, rules

    def __call__(
        self, adapter: Adapter, ticket: Ticket, entitlement: Entitlement, plan: WriteBack, now: datetime, dry_run: bool
    ) -> Mapping[str, Any] | None:
        tier = entitlement.tier.code
        clocks = [
            stored_clock(adapter, ticket, metric, reading, self.rules.target_calendar(entitlement, due), tier, now)
            for metric, reading, due in (
                ("first_response", plan.first_response, entitlement.first_response),
                ("resolution", plan.resolution, entitlement.resolution),
            )
        ]
        self.store.record(clocks, now)
        return {"clocks": {c.metric: c.state.value for c in clocks}}
