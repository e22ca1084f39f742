"""The SLA clock: working time counted against a target over a ticket's status history.

The clock runs while the ticket is open, pauses while waiting on the customer, stops when the
ticket is solved and runs again when it is reopened. It answers for any `now` passed in: the
due moment, working time elapsed and remaining, paused working time, met or breached and when.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from connector.core.calendar import BusinessCalendar, to_us
from connector.core.errors import BadInput


class ClockState(enum.Enum):
    """What a status change does to the clock."""

    RUNNING = "running"  # open, reopened
    PAUSED = "paused"  # waiting on the customer
    STOPPED = "stopped"  # solved (or, for first response: the first public agent reply)


@dataclass(frozen=True)
class StatusChange:
    """From `at` on, the clock is in `state`."""

    at: datetime
    state: ClockState


@dataclass(frozen=True)
class SlaReading:
    """The clock read at one moment."""

    state: ClockState
    target: timedelta | None
    elapsed: timedelta
    paused: timedelta
    remaining: timedelta | None  # negative once breached; None without a target
    due: datetime | None  # running or stopped: of the last running period (the missed moment once
    # breached); None while paused, when it is not known when the clock resumes
    breached_at: datetime | None  # the moment the target was used up, if it has been
    stopped_at: datetime | None

    @property
    def met(self) -> bool | None:
        """True when stopped within the target, False once breached, None while undecided."""
        if self.breached_at is not None:
            return False
        if self.state is ClockState.STOPPED and self.target is not None:
            return True
        return None


@dataclass(frozen=True)
class SlaClock:
    """A target in working time (None = not regulated) on a calendar, over a status history."""

    calendar: BusinessCalendar
    target: timedelta | None
    history: Sequence[StatusChange]

    def __post_init__(self) -> None:
        if self.target is not None and self.target < timedelta(0):
            raise BadInput(f"negative SLA target {self.target}")
        moments = [to_us(change.at) for change in self.history]
        if moments != sorted(moments):
            raise BadInput("status history is not in time order")

    def with_target(self, target: timedelta | None) -> SlaClock:
        """The same history against a new target (the entitlement changed): elapsed time is kept."""
        return replace(self, target=target)

    def with_change(self, change: StatusChange) -> SlaClock:
        """The clock after one more status change."""
        return replace(self, history=(*self.history, change))

    def reading(self, now: datetime) -> SlaReading:
        """Read the clock at `now`; changes after `now` are not seen yet."""
        cal, target = self.calendar, self.target
        changes = [c for c in self.history if c.at <= now]
        elapsed = paused = timedelta(0)
        breached_at = stopped_at = due = None
        state = ClockState.PAUSED if not changes else changes[-1].state
        for change, following in zip(changes, [*changes[1:], None], strict=True):
            end = following.at if following else now
            if change.state is ClockState.STOPPED:
                stopped_at = change.at
                continue
            worked = cal.between(change.at, end)
            if change.state is ClockState.PAUSED:
                paused += worked
                continue
            if target is not None and breached_at is None:
                due = cal.add(change.at, target - elapsed)
                if elapsed + worked > target:  # used up strictly inside: a reply at the due moment is met
                    breached_at = due
            elapsed += worked
        if breached_at is not None:
            due = breached_at
        elif state is ClockState.PAUSED:
            due = None
        return SlaReading(
            state=state,
            target=target,
            elapsed=elapsed,
            paused=paused,
            remaining=None if target is None else target - elapsed,
            due=due,
            breached_at=breached_at,
            stopped_at=stopped_at if state is ClockState.STOPPED else None,
        )
