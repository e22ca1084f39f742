"""Pre-breach warnings and breach marks: which alert points a stored SLA clock has reached.

A clock is stored as of one moment (`as_of`): its state, target, the working time used then,
its due moment and, once breached, when. How much is used at any later `now` follows without
the platform: while running, used = elapsed + working time between as_of and now; paused or
stopped, it stays at elapsed. A point `p` (a fraction of the target) is reached when
used >= p * target, at calendar.add(as_of, p * target - elapsed) (earlier than as_of when it was
already passed then: that moment is not known from the record, so it is None). The breach
(p = 1) follows the clock's own rule: the target is *exceeded*, not just used up (a reply at the
due moment is met), and it is marked with the moment it happened, the due moment.

Rules (issue 5): a warning (p < 1) fires only in working time and only on a running clock; a
breach is marked whenever it is found on a clock that is not stopped (breached while running,
then paused: still a breach). Stopped clocks and clocks without a target (not regulated) never
alert. When several points were passed at once (the scheduler was down, or it was night), only
the furthest one is acted on; the ones it supersedes are recorded, not sent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any

from connector.core.calendar import BusinessCalendar
from connector.core.errors import BadInput
from connector.core.moments import iso
from connector.core.sla import ClockState

METRICS = ("first_response", "resolution")
METRIC_TITLES = {"first_response": "first response", "resolution": "resolution"}


@dataclass(frozen=True)
class StoredClock:
    """One ticket's clock for one metric, as last computed (a row of `ticket_clocks`)."""

    platform: str
    ticket_id: str
    metric: str  # first_response or resolution
    state: ClockState
    target: timedelta | None  # working time; None = not regulated
    elapsed: timedelta  # working time used at as_of
    as_of: datetime
    due: datetime | None = None
    breached_at: datetime | None = None
    calendar: str = '"default"'  # the calendar document, as JSON
    tier: str | None = None

    @property
    def open(self) -> bool:
        """Not stopped (the ticket is not solved, or the first response is not given)."""
        return self.state is not ClockState.STOPPED


@dataclass(frozen=True)
class AlertPoint:
    """A configured point: a fraction of the target, what to do there."""

    at: float  # 0 < at <= 1; 1 = breach
    action: str = "note"  # note: a tag and an internal note; priority: also set the priority
    priority: str | None = None
    tag: str | None = None

    @classmethod
    def from_config(cls, doc: Mapping[str, Any]) -> AlertPoint:
        """From one entry of the config's `alerts.points`."""
        at = float(doc["at"])
        if not 0 < at <= 1:
            raise BadInput(f"alert point at {at:g}: give a fraction of the target, 0 < at <= 1")
        return cls(at, doc.get("action", "note"), doc.get("priority"), doc.get("tag"))

    @property
    def breach(self) -> bool:
        """Whether this is the breach point (the whole target used)."""
        return self.at >= 1

    @property
    def percent(self) -> str:
        """ "75" for 0.75 (at most one decimal place: "87.5")."""
        return f"{round(self.at * 100, 1):g}"

    @property
    def key(self) -> str:
        """The point's key in `sla_alerts`: "75%", or "breach"."""
        return "breach" if self.breach else f"{self.percent}%"

    def tag_for(self, metric: str, prefix: str) -> str:
        """The point's own tag, else <prefix>warn_<metric>_<percent> / <prefix>breached_<metric>."""
        if self.tag:
            return self.tag
        if self.breach:
            return f"{prefix}breached_{metric}"
        return f"{prefix}warn_{metric}_{self.percent.replace('.', '_')}"


def is_alert_tag(name: str) -> bool:
    """Whether a prefixed tag's name (prefix stripped) is one of the alerts' own tags
    (`warn_<metric>_<percent>`, `breached_<metric>`), which is no entitlement flag: an adapter
    reading flags from tags must leave them out, or its next write-back would remove them."""
    return name.startswith(("warn_", "breached_"))


def points_from_config(points: Sequence[Mapping[str, Any]]) -> tuple[AlertPoint, ...]:
    """The configured points, in increasing order."""
    return tuple(sorted((AlertPoint.from_config(p) for p in points), key=lambda p: p.at))


@dataclass(frozen=True)
class Reached:
    """A point a clock has reached: when (None: before the record, not known exactly) and the
    working time used at `now`."""

    clock: StoredClock
    point: AlertPoint
    moment: datetime | None
    used: timedelta


@dataclass(frozen=True)
class Decision:
    """What to do with a clock now: `act` on one point (or None), and `supersede` the passed
    points it makes pointless (recorded once, never sent)."""

    act: Reached | None
    supersede: tuple[Reached, ...] = ()


def used_at(clock: StoredClock, now: datetime, calendar: BusinessCalendar) -> timedelta:
    """Working time used at `now`: it grows only while the clock runs."""
    if clock.state is ClockState.RUNNING and now > clock.as_of:
        return clock.elapsed + calendar.between(clock.as_of, now)
    return clock.elapsed


def reached_points(
    clock: StoredClock, points: Sequence[AlertPoint], now: datetime, calendar: BusinessCalendar
) -> list[Reached]:
    """The points the clock has reached by `now` that may be acted on now, in increasing order
    (warnings only on a running clock in working time; see the module's rules)."""
    if clock.target is None or not clock.open:
        return []
    target, used = clock.target, used_at(clock, now, calendar)
    out: list[Reached] = []
    for point in points:
        if point.breach:
            moment = _breach_moment(clock, used, calendar)
            if moment is not None:
                out.append(Reached(clock, point, moment, used))
            continue
        if clock.state is not ClockState.RUNNING or not calendar.is_working(now):
            continue
        threshold = target * point.at
        if used >= threshold:
            moment = calendar.add(clock.as_of, threshold - clock.elapsed) if threshold >= clock.elapsed else None
            out.append(Reached(clock, point, moment, used))
    return out


def _breach_moment(clock: StoredClock, used: timedelta, calendar: BusinessCalendar) -> datetime | None:
    """When the target was exceeded (the due moment), or None if it has not been."""
    if clock.breached_at is not None:
        return clock.breached_at
    assert clock.target is not None
    if used <= clock.target:  # used up exactly is not a breach yet (a reply now is met)
        return None
    return calendar.add(clock.as_of, clock.target - clock.elapsed)


def decide(reached: Sequence[Reached], done: frozenset[str] | set[str]) -> Decision:
    """Act once per point: the furthest reached point not `done` (keys already recorded), if it
    is further than every done one; the lower passed points not done are superseded."""
    pending = [r for r in reached if r.point.key not in done]
    if not pending:
        return Decision(None)
    furthest = max(pending, key=lambda r: r.point.at)
    done_ats = [r.point.at for r in reached if r.point.key in done]
    if done_ats and max(done_ats) > furthest.point.at:  # a further point already acted on
        return Decision(None, tuple(pending))
    return Decision(furthest, tuple(r for r in pending if r is not furthest))


def _hours(span: timedelta) -> str:
    """Working time as H:MM (minutes rounded down)."""
    minutes = int(span.total_seconds() // 60)
    return f"{minutes // 60}:{minutes % 60:02d}"


def _moment(moment: datetime, zone: tzinfo) -> str:
    local = moment.astimezone(zone)
    return f"{iso(local)} ({getattr(zone, 'zone', zone)})"


def alert_note(reached: Reached, zone: tzinfo) -> str:
    """The internal note: which target, how much of it is used, the due moment in the vendor's
    zone, and for a breach the moment it happened."""
    clock, point = reached.clock, reached.point
    assert clock.target is not None
    name = METRIC_TITLES.get(clock.metric, clock.metric)
    tier = f", {clock.tier} tier" if clock.tier else ""
    target = f"{name} target ({_hours(clock.target)} working hours{tier})"
    used = f"{_hours(reached.used)} of {_hours(clock.target)} working hours used"
    if point.breach:
        at = reached.moment or clock.due
        when = f" at {_moment(at, zone)}" if at else ""
        return f"SLA breached: the {target} was exceeded{when}, the due moment; {used}."
    due_text = f" Due {_moment(clock.due, zone)}." if clock.due else ""
    share = f"{reached.used / clock.target:.0%}" if clock.target else "100%"
    return f"SLA warning: {share} of the {target} used ({used}).{due_text}"
