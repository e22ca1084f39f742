"""A generic tracker's ticket: the configured reads made in order, then the domain `Ticket` from
their answers through the mapping's selectors. Facts only (connector.core.ticket decides what
they mean): the creation time, requester, organisation, product, request type, channel, the
status now (and since when, where the tracker says), its status changes (where it lists them),
the first public agent reply (where the tracker records it) and the connector's own values as
the tracker holds them now.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, TypeVar

from connector.core.entitlement import CHANNELS, REQUEST_TYPES, TOPICS
from connector.core.errors import BadInput, PlatformRejected
from connector.core.ticket import Author, Carried, Comment, StatusAt, Ticket, TicketStatus
from connector.platforms.generic.mapping import TrackerMapping
from connector.platforms.generic.sources import Selector, clean, moment, resolve, text

log = logging.getLogger(__name__)
ALLOWED = {"request_type": REQUEST_TYPES, "topic": TOPICS, "channel": CHANNELS}
K = TypeVar("K")  # a group's keys: our names (facts, carried values), or common statuses (status_since)


def read_answers(
    mapping: TrackerMapping, ticket_id: str, get: Callable[[str], Any], context: Mapping[str, str]
) -> dict[str, Any]:
    """Every read's answer by name; a read whose `with` value is absent is skipped (None)."""
    answers: dict[str, Any] = {}
    for read in mapping.reads:
        values = {name: clean(selector.first(answers)) for name, selector in read.needs.items()}
        if any(v is None for v in values.values()):
            answers[read.name] = None
            continue
        answers[read.name] = get(read.path.render({**context, "ticket_id": ticket_id, **values}, in_path=True))
    return answers


class TicketReader:
    """Turns the answers into a `Ticket` (PlatformRejected naming the option when they cannot)."""

    def __init__(self, mapping: TrackerMapping, answers: Mapping[str, Any]) -> None:
        self.m, self.answers = mapping, answers

    def raw(self, group: Mapping[K, Selector], name: K) -> Any:
        """The value a selector of `group` finds (None when there is no selector or no value)."""
        selector = group.get(name)
        return None if selector is None else selector.first(self.answers)

    def when(self, group: Mapping[K, Selector], name: K, key: str) -> datetime | None:
        """A moment; an unreadable fact is the tracker answering what the mapping does not
        expect (the event fails, naming the option), but an unreadable value of the connector's
        own is None: someone typed into its field, and the write-back puts the right one back."""
        value = self.raw(group, name)
        try:
            return moment(value, self.m.zone)
        except ValueError as exc:
            if group is self.m.carried:
                return None
            raise PlatformRejected(f"{self.m.key(key)}: {str(value)[:60]!r} is not a time: {exc}") from None

    def fact(self, name: str) -> str | None:
        """A fact as text, through `values` (the tracker's value -> the connector's)."""
        value = clean(self.raw(self.m.facts, name))
        if value is None:
            return None
        value = self.m.values.get(name, {}).get(value, value)
        if name in ALLOWED:
            value = value.lower().replace(" ", "_")
            return value if value in ALLOWED[name] else None
        return value

    def status_of(self, raw: Any) -> TicketStatus | None:
        """A tracker status as a common one; an unmapped one counts as open (its clock runs)."""
        value = text(raw).strip()
        if not value:
            return None
        if value not in self.m.statuses:
            log.warning("%s: status %r is not in options.statuses; counted as open", self.m.name, value)
            return TicketStatus.OPEN
        return self.m.statuses[value]

    def statuses(self) -> tuple[StatusAt, ...]:
        """The status changes options.status_history finds (none without it)."""
        history = self.m.history
        if history is None:
            return ()
        found = []
        for item in history.items.items(self.answers):
            status = self.status_of(resolve(item, history.status))
            try:
                at = moment(resolve(item, history.at), self.m.zone)
            except ValueError as exc:
                raise PlatformRejected(f"{self.m.key('status_history.at')}: {exc}") from None
            if status is not None and at is not None:
                found.append(StatusAt(at, status))
        return tuple(found)

    def ticket(self, ticket_id: str) -> Ticket:
        """The domain ticket."""
        created_at = self.when(self.m.facts, "created_at", "facts.created_at")
        if created_at is None:
            raise PlatformRejected(
                f"{self.m.key('facts.created_at')}: the tracker's answer has no creation "
                f"time at {self.m.facts['created_at'].ref.text}"
            )
        status = self.status_of(self.raw(self.m.facts, "status"))
        since = (
            self.when(self.m.status_since, status, f"status_since.{status.value}")
            if status is not None and status in self.m.status_since
            else None
        )
        first = self.when(self.m.facts, "first_response_at", "facts.first_response_at")
        flags = self.raw(self.m.carried, "flags")
        flag_set = flags if isinstance(flags, list) else (text(flags).split(",") if clean(flags) else [])
        carried = Carried(
            tier=clean(self.raw(self.m.carried, "tier")),
            first_response_due=self.when(self.m.carried, "first_response_due", "carried.first_response_due"),
            resolution_due=self.when(self.m.carried, "resolution_due", "carried.resolution_due"),
            flags=frozenset(f for f in (text(v).strip() for v in flag_set) if f),
            assignee=clean(self.raw(self.m.carried, "assignee")),
        )
        email = self.fact("requester_email")
        return Ticket(
            platform=self.m.name,
            id=ticket_id,
            created_at=created_at,
            requester_email=email.lower() if email else None,
            organisation_id=self.fact("organisation"),
            product=self.fact("product"),
            request_type=self.fact("request_type"),
            topic=self.fact("topic"),
            channel=self.fact("channel"),
            statuses=self.statuses(),
            status=status,
            status_since=since,
            comments=(Comment(first, Author.AGENT, True),) if first else (),
            carried=carried,
            subject=self.fact("subject"),
        )


TICKET_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:#@+-]{0,127}$")


def ticket_id_of(value: Any, where: str) -> str:
    """A ticket id as text: a number, or a short token of letters, digits and ._:#@+- (it goes
    into URL paths: no `/`, `%` or spaces, whatever a body says)."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise BadInput(f"{where}: the ticket id must be a number or a string, not {type(value).__name__}")
    ticket_id = str(value).strip()
    if not TICKET_ID.match(ticket_id):
        raise BadInput(f"{where}: {ticket_id[:40]!r} is not a ticket id (letters, digits and ._:#@+-, at most 128)")
    return ticket_id
