"""The ticket ledger's row: one per processed ticket, replaced each time the ticket is processed.

It is what reports and the status page read, so it keeps what the processor knew at that moment:
the ticket's facts (who asked, about what, how), the entitlement (customer, tier, contract,
flags) and the two SLA readings (due moments, when the first response was given and the ticket
solved, working time paused and used, breaches). Built here, from domain objects only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from connector.core.entitlement import Entitlement
from connector.core.ticket import Ticket, WriteBack


@dataclass(slots=True)  # not frozen: a report builds 100,000 of these, and frozen init costs twice as much
class LedgerEntry:
    """One ticket as last processed (moments aware; working times as timedeltas). Treat as read-only."""

    platform: str
    ticket_id: str
    created_at: datetime
    requester_email: str | None
    requester_name: str | None
    subject: str | None
    customer_id: str | None
    customer_name: str | None
    product: str | None
    request_type: str
    topic: str | None
    channel: str | None
    tier: str
    contract: str | None
    flags: tuple[str, ...]
    first_response_target: timedelta | None  # None: the tier sets no first-response target
    first_response_due: datetime | None
    first_response_at: datetime | None
    first_response_elapsed: timedelta  # working time from creation to the reply (or to processed_at)
    first_response_state: str
    first_response_breached_at: datetime | None
    resolution_target: timedelta | None
    resolution_due: datetime | None
    resolved_at: datetime | None
    resolution_paused: timedelta  # working time the resolution clock was paused
    resolution_state: str
    resolution_breached_at: datetime | None
    processed_at: datetime

    @property
    def requester(self) -> str:
        """The requester as people read it: the name, else the e-mail."""
        return self.requester_name or self.requester_email or ""


def ledger_entry(
    platform: str, ticket: Ticket, entitlement: Entitlement, plan: WriteBack, now: datetime
) -> LedgerEntry:
    """The ledger row of a ticket processed at `now` (`platform`: the configured platform's name)."""
    fr, res = plan.first_response, plan.resolution
    customer, contract = entitlement.customer, entitlement.contract
    return LedgerEntry(
        platform=platform,
        ticket_id=ticket.id,
        created_at=ticket.created_at,
        requester_email=(ticket.requester_email or "").strip().lower() or None,
        requester_name=ticket.requester_name,
        subject=ticket.subject,
        customer_id=customer.id if customer else None,
        customer_name=customer.name if customer else None,
        product=entitlement.product or ticket.product,
        request_type=ticket.kind,
        topic=ticket.topic,
        channel=ticket.channel,
        tier=entitlement.tier.code,
        contract=contract.contract if contract else None,
        flags=tuple(entitlement.flag_codes),
        first_response_target=fr.target,
        first_response_due=fr.due,
        first_response_at=fr.stopped_at,
        first_response_elapsed=fr.elapsed,
        first_response_state=fr.state.value,
        first_response_breached_at=fr.breached_at,
        resolution_target=res.target,
        resolution_due=res.due,
        resolved_at=res.stopped_at,
        resolution_paused=res.paused,
        resolution_state=res.state.value,
        resolution_breached_at=res.breached_at,
        processed_at=now,
    )
