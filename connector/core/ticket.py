"""A ticket as the domain sees it, and what it should carry: tier, due dates, flags, assignee.

Platforms report facts only: the ticket's comments (who wrote them, public or not, when), its
status changes, requester and organisation, and the connector's own fields as read. The SLA
meaning of those facts is decided here, once for every platform: the first response is the first
public comment by an agent after the request itself; a status history that could not be read is
creation, then the status now; a request of no stated type is an error report.
`plan_write_back` runs the two SLA clocks (first response: stopped by that reply; resolution:
paused while waiting on the customer, stopped when solved, running again when reopened) and
compares the result with what the ticket carries now. Nothing to change means no write at all.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo

from connector.core.calendar import BusinessCalendar
from connector.core.moments import iso
from connector.core.sla import ClockState, SlaClock, SlaReading, StatusChange


class TicketStatus(enum.Enum):
    """The common ticket statuses every platform maps its own onto."""

    NEW = "new"
    OPEN = "open"
    PENDING = "pending"  # waiting on the customer: the resolution clock pauses
    HOLD = "hold"  # waiting on a third party: the vendor's clock keeps running
    SOLVED = "solved"
    CLOSED = "closed"


DEFAULT_REQUEST_TYPE = "error"

RESOLUTION_CLOCK = {
    TicketStatus.NEW: ClockState.RUNNING,
    TicketStatus.OPEN: ClockState.RUNNING,
    TicketStatus.HOLD: ClockState.RUNNING,
    TicketStatus.PENDING: ClockState.PAUSED,
    TicketStatus.SOLVED: ClockState.STOPPED,
    TicketStatus.CLOSED: ClockState.STOPPED,
}


class Author(enum.Enum):
    """Who wrote a comment, as the platform tells it."""

    REQUESTER = "requester"  # the ticket's requester
    AGENT = "agent"  # support staff (agents, admins, privileged users) other than the requester
    END_USER = "end_user"  # someone else on the customer's side (a CC, a colleague)
    CONNECTOR = "connector"  # the connector's own account on the platform


@dataclass(frozen=True)
class Comment:
    """One comment, note or correspondence on a ticket; `opening` marks the request itself."""

    at: datetime
    author: Author
    public: bool
    opening: bool = False


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

    def differences(self, other: Carried) -> frozenset[str]:
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
    request_type: str | None = None  # None: the ticket does not say
    topic: str | None = None
    channel: str | None = None
    statuses: Sequence[StatusAt] = ()  # the status changes the platform shows, creation's first
    status: TicketStatus | None = None  # the status now, when the platform says it
    status_since: datetime | None = None  # since when, if known without a history
    comments: Sequence[Comment] = ()
    carried: Carried = field(default_factory=Carried)
    subject: str | None = None
    requester_name: str | None = None

    @property
    def first_response_at(self) -> datetime | None:
        """The first public comment by an agent after the request itself (not before creation)."""
        replies = [c.at for c in self.comments if c.public and c.author is Author.AGENT and not c.opening]
        return max(min(replies), self.created_at) if replies else None

    def status_history(self, now: datetime) -> list[StatusAt]:
        """The status changes in time order, from creation: as read; with none readable, creation
        (new) then the status now; a current status the history does not end with began at
        `status_since`, else it is first seen at `now`."""
        history = sorted(self.statuses, key=lambda s: s.at) or [StatusAt(self.created_at, TicketStatus.NEW)]
        if self.status is not None and history[-1].status is not self.status:
            history.append(StatusAt(self.status_since or now, self.status))
        return history

    @property
    def kind(self) -> str:
        """The request type the rules use: the ticket's, else an error report (the policy's
        default kind of request)."""
        return self.request_type or DEFAULT_REQUEST_TYPE


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
    if ticket.first_response_at is not None:
        history.append(StatusChange(ticket.first_response_at, ClockState.STOPPED))
    return SlaClock(target.calendar, target.duration, tuple(history))


def resolution_clock(ticket: Ticket, target: Target, now: datetime) -> SlaClock:
    """Follows the status history: paused while pending, stopped when solved, reopened runs; and
    the customer's answer ends a wait on the customer even where the platform leaves the status
    as it was (RT keeps `stalled` after a requester's reply)."""
    moments: list[tuple[datetime, int, ClockState]] = [
        (change.at, 0, RESOLUTION_CLOCK[change.status]) for change in ticket.status_history(now)
    ]
    moments += [
        (c.at, 1, ClockState.RUNNING)
        for c in ticket.comments
        if c.author is Author.REQUESTER and c.public and not c.opening
    ]
    history = [StatusChange(ticket.created_at, ClockState.RUNNING)]
    for at, is_reply, state in sorted(moments, key=lambda m: (m[0], m[1])):
        if is_reply and history[-1].state is not ClockState.PAUSED:
            continue  # a customer's answer resumes a wait; it never reopens a solved ticket
        if state is not history[-1].state:
            history.append(StatusChange(max(at, ticket.created_at), state))
    return SlaClock(target.calendar, target.duration, tuple(history))


def assignee_for(ticket: Ticket, engineer: str | None) -> str | None:
    """Who the ticket should be assigned to: the contract's dedicated engineer when the ticket has
    no assignee, or when its tier is first set; never taking it back from an agent who reassigned
    it (an escalation, holiday cover)."""
    current = ticket.carried.assignee
    if engineer and (current is None or ticket.carried.tier is None):
        return engineer
    return current


def shown_due(moment: datetime | None, zone: tzinfo | None) -> datetime | None:
    """A due moment as tickets carry it: whole seconds, in the vendor's zone (when given)."""
    if moment is None:
        return None
    moment = moment.replace(microsecond=0)
    return moment.astimezone(zone) if zone is not None else moment


def plan_write_back(
    ticket: Ticket,
    tier: str,
    flags: Sequence[str],
    assignee: str | None,
    first_response: Target,
    resolution: Target,
    now: datetime,
    explanation: str = "",
    zone: tzinfo | None = None,
) -> WriteBack:
    """What the ticket should carry now, and how that differs from what it carries; due moments
    to whole seconds, in `zone` (the vendor's) when given."""
    fr = first_response_clock(ticket, first_response).reading(now)
    res = resolution_clock(ticket, resolution, now).reading(now)
    desired = Carried(
        tier=tier,
        first_response_due=shown_due(fr.due, zone),
        resolution_due=shown_due(res.due, zone),
        flags=frozenset(flags),
        assignee=assignee_for(ticket, assignee),
    )
    fr_due, res_due = desired.first_response_due, desired.resolution_due
    note = None
    if ticket.carried.tier != tier:  # first set or changed: one note, never one per event
        before = f" (was {ticket.carried.tier})" if ticket.carried.tier else ""
        dues = ", ".join(
            f"{name} due {iso(moment)}"
            for name, moment in (("first response", fr_due), ("resolution", res_due))
            if moment
        )
        note = f"Support tier: {tier}{before}. {dues or 'No due dates.'} {explanation}".strip()
    return WriteBack(desired, ticket.carried.differences(desired), note, fr, res)
