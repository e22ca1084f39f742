"""A ticket as the domain sees it, and what it should carry: tier, due dates, flags, assignee.

Platforms turn their API's ticket into a `Ticket`; `plan_write_back` runs the two SLA clocks
(first response: stopped by the first public agent reply; resolution: paused while waiting on
the customer, stopped when solved, running again when reopened) and compares the result with
what the ticket carries now. Nothing to change means no write at all.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Sequence

from connector.core.calendar import BusinessCalendar
from connector.core.sla import ClockState, SlaClock, SlaReading, StatusChange


class TicketStatus(enum.Enum):
    """The common ticket statuses every platform maps its own onto."""

    NEW = "new"
    OPEN = "open"
    PENDING = "pending"  # waiting on the customer: the resolution clock pauses
    HOLD = "hold"  # waiting on a third party: the vendor's clock keeps running
    SOLVED = "solved"
    CLOSED = "closed"


RESOLUTION_CLOCK = {
    TicketStatus.NEW: ClockState.RUNNING, TicketStatus.OPEN: ClockState.RUNNING,
    TicketStatus.HOLD: ClockState.RUNNING, TicketStatus.PENDING: ClockState.PAUSED,
    TicketStatus.SOLVED: ClockState.STOPPED, TicketStatus.CLOSED: ClockState.STOPPED,
}


@dataclass(frozen=True)
class StatusAt:
    """From `at` on, the ticket has `status`."""

    at: datetime
    status: TicketStatus


@dataclass(frozen=True)
class Carried:
    """What a ticket carries in the connector's own fields (as read, or as it should be)."""

    tier: str | None = None
    first_response_due: datetime | None = None
    resolution_due: datetime | None = None
    flags: frozenset[str] = frozenset()
    assignee: str | None = None  # e-mail of the dedicated engineer

    def differences(self, other: "Carried") -> frozenset[str]:
        """Names of the fields whose values differ (moments compared as instants)."""
        names = ("tier", "first_response_due", "resolution_due", "flags", "assignee")
        return frozenset(n for n in names if getattr(self, n) != getattr(other, n))


@dataclass(frozen=True)
class Ticket:
    """The current ticket, read from the platform's API (the truth; webhooks only notify)."""

    platform: str
    id: str
    created_at: datetime
    requester_email: str | None
    organisation_id: str | None = None
    product: str | None = None
    request_type: str = "error"
    topic: str | None = None
    channel: str | None = None
    statuses: Sequence[StatusAt] = ()  # in time order; at least the status at creation
    first_public_reply_at: datetime | None = None
    carried: Carried = field(default_factory=Carried)


@dataclass(frozen=True)
class Target:
    """An SLA target: working time (None = not regulated) on a calendar."""

    duration: timedelta | None
    calendar: BusinessCalendar


@dataclass(frozen=True)
class WriteBack:
    """What the ticket should carry, which fields change, and the internal note (if any)."""

    desired: Carried
    changed: frozenset[str]
    note: str | None
    first_response: SlaReading
    resolution: SlaReading

    @property
    def needed(self) -> bool:
        """Whether any write call is needed at all."""
        return bool(self.changed or self.note)


def first_response_clock(ticket: Ticket, target: Target) -> SlaClock:
    """Runs from creation until the first public agent reply."""
    history = [StatusChange(ticket.created_at, ClockState.RUNNING)]
    if ticket.first_public_reply_at is not None:
        history.append(StatusChange(max(ticket.first_public_reply_at, ticket.created_at), ClockState.STOPPED))
    return SlaClock(target.calendar, target.duration, tuple(history))


def resolution_clock(ticket: Ticket, target: Target) -> SlaClock:
    """Follows the status history: paused while pending, stopped when solved, reopened runs."""
    history = [StatusChange(ticket.created_at, ClockState.RUNNING)]
    for change in sorted(ticket.statuses, key=lambda s: s.at):
        state = RESOLUTION_CLOCK[change.status]
        if state is not history[-1].state:
            history.append(StatusChange(max(change.at, ticket.created_at), state))
    return SlaClock(target.calendar, target.duration, tuple(history))


def plan_write_back(ticket: Ticket, tier: str, flags: Sequence[str], assignee: str | None,
                    first_response: Target, resolution: Target, now: datetime,
                    explanation: str = "") -> WriteBack:
    """What the ticket should carry now, and how that differs from what it carries."""
    fr = first_response_clock(ticket, first_response).reading(now)
    res = resolution_clock(ticket, resolution).reading(now)
    desired = Carried(tier=tier, first_response_due=fr.due, resolution_due=res.due,
                      flags=frozenset(flags), assignee=assignee or ticket.carried.assignee)
    note = None
    if ticket.carried.tier != tier:  # first set or changed: one note, never one per event
        before = f" (was {ticket.carried.tier})" if ticket.carried.tier else ""
        dues = ", ".join(f"{name} due {moment:%Y-%m-%d %H:%M %Z}" for name, moment in
                         (("first response", fr.due), ("resolution", res.due)) if moment)
        note = f"Support tier: {tier}{before}. {dues or 'No due dates.'} {explanation}".strip()
    return WriteBack(desired, ticket.carried.differences(desired), note, fr, res)
