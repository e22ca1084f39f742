"""Processing one event: read the ticket from the platform (the truth), resolve the
entitlement at the ticket's creation, run the SLA clocks, and write back only what changed."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy.engine import Engine

from connector.core.entitlement import DueTarget, Entitlement, EntitlementRequest, Rulebook, resolve
from connector.core.errors import PlatformRejected
from connector.core.moments import iso
from connector.core.ticket import Target, Ticket, WriteBack, plan_write_back
from connector.platforms.base import Adapter
from connector.storage.events import StoredEvent
from connector.storage.moments import utcnow
from connector.storage.registry import SqlRegistry
from connector.storage.unit import reading


class AfterProcessing(Protocol):
    """A step run after a ticket's write-back (record its clocks, keep its requester's KB access
    and portal registration right). Gets what the processor knows; returns entries for the
    event's result record (or None). In dry-run (`dry_run`), it must change nothing outside
    the connector's own records."""

    def __call__(
        self, adapter: Adapter, ticket: Ticket, entitlement: Entitlement, plan: WriteBack, now: datetime, dry_run: bool
    ) -> Mapping[str, Any] | None: ...


class Processor:
    """Turns a stored event into a write-back (or, in dry-run, a record of it)."""

    def __init__(
        self,
        engine: Engine,
        adapters: Mapping[str, Adapter],
        rules: Rulebook,
        clock: Callable[[], datetime] = utcnow,
        after: Sequence[AfterProcessing] = (),
    ) -> None:
        self.engine, self.adapters, self.rules, self.clock = engine, adapters, rules, clock
        self.after = tuple(after)

    def entitlement(self, ticket: Ticket) -> Entitlement:
        """The requester's entitlement at the ticket's creation."""
        request = EntitlementRequest(
            ticket.requester_email or "",
            ticket.created_at,
            ticket.product,
            ticket.kind,
            ticket.topic,
            ticket.channel,
            ticket.platform,
            ticket.organisation_id,
        )
        with reading(self.engine) as conn:  # the worker's unit of work: one connection per event
            return resolve(request, SqlRegistry(conn), self.rules)

    def _target(self, ent: Entitlement, due: DueTarget | None) -> Target:
        """The SLA target and its calendar: those of the coverage that gave the earliest due."""
        calendar = self.rules.calendar_for(self.rules.target_calendar(ent, due))
        return Target(None if due is None else timedelta(hours=due.hours), calendar)

    def plan(self, ticket: Ticket, now: datetime) -> tuple[Entitlement, WriteBack]:
        """The entitlement and what the ticket should carry now."""
        ent = self.entitlement(ticket)
        contract = ent.contract
        explanation = " ".join(f"[{f.code}] {f.explanation}" for f in ent.flags)
        plan = plan_write_back(
            ticket,
            ent.tier.code,
            ent.flag_codes,
            contract.dedicated_engineer if contract else None,
            self._target(ent, ent.first_response),
            self._target(ent, ent.resolution),
            now,
            explanation,
            self.rules.vendor_calendar.zone,
        )
        return ent, plan

    def process(self, event: StoredEvent) -> dict[str, Any]:
        """Process `event`; the record of what was (or, in dry-run, would be) written."""
        adapter = self.adapters.get(event.platform)
        if adapter is None:
            raise PlatformRejected(f"platform {event.platform!r} is no longer configured")
        return self.process_ticket(adapter, event.ticket_id)

    def process_ticket(self, adapter: Adapter, ticket_id: str, dry_run: bool | None = None) -> dict[str, Any]:
        """Read the ticket, write back what changed, run the after-steps; the result record.
        `dry_run` None means the platform's setting."""
        ticket = adapter.fetch_ticket(ticket_id)
        now = self.clock()
        ent, plan = self.plan(ticket, now)
        dry_run = adapter.settings.dry_run if dry_run is None else dry_run
        written = adapter.write_back(ticket, plan) if plan.needed and not dry_run else False
        result = {
            "ticket": ticket.id,
            "tier": ent.tier.code,
            "flags": ent.flag_codes,
            "first_response_due": _iso(plan.desired.first_response_due),
            "resolution_due": _iso(plan.desired.resolution_due),
            "assignee": plan.desired.assignee,
            "changed": sorted(plan.changed),
            "note": plan.note,
            "written": written,
            "dry_run": dry_run,
            "reasons": list(ent.reasons),
        }
        for step in self.after:
            result.update(step(adapter, ticket, ent, plan, now, dry_run) or {})
        return result


def _iso(moment: datetime | None) -> str | None:
    """A due moment for the event's result record (ISO 8601, whole seconds, its offset)."""
    return iso(moment) if moment else None
