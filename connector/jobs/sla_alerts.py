"""The SLA alert job the scheduler runs, over the clocks each processed event records
(`connector.pipeline.clocks`).

`AlertJob.run()` looks at every open clock, decides which configured point to act on (once per
ticket, metric and point), claims it in `sla_alerts` *before* calling the platform (an insert: a
key conflict means another process has it, so two schedulers never double an alert), then puts
the alert on the ticket and records the result. A transient platform failure leaves the row
`failed`, retried on the next run; a claim whose process died is taken over after `CLAIM_LEASE`.
"""

from __future__ import annotations

import json
import logging
import os
import socket
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from connector.core.alerts import (
    AlertPoint,
    Reached,
    alert_note,
    decide,
    points_from_config,
    reached_points,
)
from connector.core.entitlement import Rulebook
from connector.core.errors import BadInput, PlatformError, PlatformRejected
from connector.platforms.base import Adapter, Alert
from connector.storage.clocks import CLAIMED, RETRYABLE, ClockStore
from connector.storage.moments import utcnow

log = logging.getLogger(__name__)
CLAIM_LEASE = timedelta(minutes=10)  # longer than any platform call with its retries


class AlertJob:
    """One pass over the open clocks: the alerts due now, each acted on once."""

    def __init__(
        self,
        store: ClockStore,
        adapters: Mapping[str, Adapter],
        rules: Rulebook,
        settings: Mapping[str, Any],
        clock: Callable[[], datetime] = utcnow,
        lease: timedelta = CLAIM_LEASE,
        stopping: Callable[[], bool] = lambda: False,
    ) -> None:
        self.store, self.adapters, self.rules = store, adapters, rules
        self.points: tuple[AlertPoint, ...] = points_from_config(settings["points"])
        self.by_key = {p.key: p for p in self.points}
        self.clock, self.lease, self.stopping = clock, lease, stopping
        self.owner = f"{socket.gethostname()}:{os.getpid()}"

    def run(self) -> dict[str, int]:
        """Act on every point due now; counts of the results (sent, failed, superseded, ...)."""
        now = self.clock()
        counts: Counter[str] = Counter()
        done: dict[tuple[str, str, str], set[str]] = {}
        for record in self.store.alerts(open_only=True):
            if record.result not in (CLAIMED, *RETRYABLE) or record.point not in self.by_key:
                done.setdefault((record.platform, record.ticket_id, record.metric), set()).add(record.point)
        for clock in self.store.open_clocks():
            if self.stopping():  # the rest waits for the next run
                break
            counts["clocks"] += 1
            adapter = self.adapters.get(clock.platform)
            if adapter is None:  # the platform is no longer configured: nothing to put it on
                continue
            try:
                calendar = self.rules.calendar_for(json.loads(clock.calendar))
                reached = reached_points(clock, self.points, now, calendar)
            except (BadInput, ValueError) as exc:
                log.error(
                    "%s ticket %s %s: cannot read the stored clock: %s",
                    clock.platform,
                    clock.ticket_id,
                    clock.metric,
                    exc,
                )
                counts["unreadable"] += 1
                continue
            decision = decide(reached, done.get((clock.platform, clock.ticket_id, clock.metric), set()))
            for passed in decision.supersede:
                if self.store.note_alert(
                    clock,
                    passed.point.key,
                    passed.moment,
                    "superseded",
                    f"passed together with a further point at {now.isoformat()}",
                    now,
                ):
                    counts["superseded"] += 1
            if decision.act is not None:
                counts[self._act(adapter, decision.act, now)] += 1
        return dict(counts)

    def _act(self, adapter: Adapter, reached: Reached, now: datetime) -> str:
        """Claim the point, put the alert on the ticket, record the result; the result."""
        clock, point = reached.clock, reached.point
        key = point.key
        if not self.store.claim_alert(clock, key, reached.moment, now, self.lease):
            return "taken"  # another process acts on it (or already did)
        alert = Alert(
            clock.ticket_id,
            (point.tag_for(clock.metric, adapter.settings.tag_prefix),),
            alert_note(reached, self.rules.vendor_calendar.zone),
            point.priority if point.action == "priority" else None,
        )
        detail = json.dumps({"tags": list(alert.tags), "note": alert.note, "priority": alert.priority})
        result, error = self._send(adapter, alert)
        if error:
            detail = error
        self.store.settle_alert(clock, key, result, detail, self.clock())
        log_at = logging.WARNING if result in ("failed", "rejected") else logging.INFO
        log.log(
            log_at,
            "%s ticket %s %s %s: %s%s",
            clock.platform,
            clock.ticket_id,
            clock.metric,
            key,
            result,
            f" ({error})" if error else "",
        )
        return result

    @staticmethod
    def _send(adapter: Adapter, alert: Alert) -> tuple[str, str | None]:
        """(result, error) of putting the alert on the platform."""
        if adapter.settings.dry_run:
            return "dry_run", None
        if "alert" not in adapter.supports:
            return "skipped", f"{adapter.title} cannot take SLA alerts in the connector"
        try:
            written = adapter.alert(alert)
        except PlatformRejected as exc:  # refused for good (e.g. the ticket is gone): retrying won't help
            return "rejected", str(exc)
        except PlatformError as exc:  # transient: the row stays retryable
            return "failed", str(exc)
        except BadInput as exc:
            return "skipped", str(exc)
        except Exception as exc:  # a bug or an unforeseen answer: keep the alert for the next run
            log.exception("alert on %s ticket %s", adapter.name, alert.ticket_id)
            return "failed", f"{type(exc).__name__}: {exc}"
        return ("sent" if written else "unchanged"), None
