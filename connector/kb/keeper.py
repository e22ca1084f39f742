"""The per-ticket access step: after each ticket event, the requester's KB access is made right
(today's, not the ticket's creation day's) and a warranty or contract requester becomes a portal
user in the customer's organisation.

It asks the platform only when the connector's own audit says the platform may be wrong (the
last grant/revoke it made differs from what is wanted, or no registration is recorded), so a busy
ticket costs no extra API calls; the daily sync corrects anything changed behind its back.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine

from connector.core.entitlement import Entitlement, Rulebook
from connector.core.errors import ConnectorError
from connector.core.kb_access import GRANT, REGISTER, REVOKE, AccessChange, kb_access
from connector.core.ticket import Ticket, WriteBack
from connector.core.tiers import Tier
from connector.platforms.base import Adapter
from connector.storage.kb_audit import AccessAudit
from connector.storage.people import contact_details, record_staff
from connector.storage.registry import SqlRegistry
from connector.storage.unit import reading

log = logging.getLogger(__name__)


class AccessKeeper:
    """An `AfterProcessing` step (see connector.pipeline.process)."""

    def __init__(self, engine: Engine, rules: Rulebook, settings: Mapping[str, Any]) -> None:
        self.engine, self.rules, self.settings = engine, rules, settings
        self.audit = AccessAudit(engine)

    def __call__(
        self, adapter: Adapter, ticket: Ticket, entitlement: Entitlement, plan: WriteBack, now: datetime, dry_run: bool
    ) -> Mapping[str, Any] | None:
        email = (ticket.requester_email or "").strip().lower()
        customer = entitlement.customer
        if not email or customer is None or entitlement.matched_by is None:
            return None
        dry_run = dry_run or bool(self.settings.get("dry_run"))
        if entitlement.matched_by in ("domain", "platform") and not dry_run:
            # the customer's staff, not a contact: the nightly sync must know them too
            record_staff(self.engine, email, customer.id, entitlement.matched_by, adapter.name, now)
        changes = [
            c
            for c in (
                self._kb_change(adapter, email, entitlement, customer.id, now),
                self._registration(adapter, email, entitlement, customer.id),
            )
            if c is not None
        ]
        if not changes:
            return None
        if dry_run:
            return {"access": [f"would {c.describe()}" for c in changes]}
        done = []
        for change in changes:
            done.append(self._apply(adapter, change, customer.name, now))
        return {"access": done}

    def _kb_change(
        self, adapter: Adapter, email: str, ent: Entitlement, customer_id: str, now: datetime
    ) -> AccessChange | None:
        """Grant or revoke when today's access differs from what the connector last did."""
        if not self.settings.get("kb", True) or "kb" not in adapter.supports:
            return None
        day = self.rules.today(now)
        access = ent.kb if self.rules.today(ent.at) == day else None  # resolved today already
        if access is None:
            with reading(self.engine) as conn:  # the event's connection (connector.storage.unit)
                access = kb_access(SqlRegistry(conn).customer_facts(customer_id, None), day, self.rules.policy)
        last = self.audit.last_done(adapter.name, email, (GRANT, REVOKE))
        if access.granted and last != GRANT:
            return AccessChange(email, GRANT, access.reason, customer_id, access.since, access.until)
        if not access.granted and last == GRANT:
            return AccessChange(email, REVOKE, access.reason, customer_id)
        return None

    def _registration(self, adapter: Adapter, email: str, ent: Entitlement, customer_id: str) -> AccessChange | None:
        """Register warranty and contract requesters (the tiers whose terms include it), once."""
        if not self.settings.get("register_portal_users", True) or "portal" not in adapter.supports:
            return None
        if ent.tier == Tier.NONE or not self.rules.policy.terms(ent.tier).portal_registration:
            return None
        if self.audit.last_done(adapter.name, email, (REGISTER,)) is not None:
            return None
        basis = next((c.reason for c in ent.coverages if c.tier == ent.tier), ent.tier.code)
        return AccessChange(
            email,
            REGISTER,
            f"the {ent.tier.code} tier includes registration in the portal ({basis})",
            customer_id,
            until=ent.valid_until,
        )

    def _apply(self, adapter: Adapter, change: AccessChange, customer_name: str, now: datetime) -> str:
        """Apply one change and audit it. A side step never fails the ticket: a platform error is
        audited as failed (the nightly sync retries it, and so does the next event of the
        requester) and the event's own result stays done."""
        try:
            if change.action == REGISTER:
                name, org = contact_details(self.engine, change.email, change.customer or "", adapter.name)
                detail = adapter.register_portal_user(change.email, name, change.customer or "", customer_name, org)
                self.audit.record(adapter.name, [(change, "done", detail or "already")], now, "ticket")
                return f"register {change.email}: {detail or 'already a portal user'}"
            outcomes = list(adapter.apply_access([change]))
        except ConnectorError as exc:
            self.audit.record(adapter.name, [(change, "failed", str(exc))], now, "ticket")
            log.warning("%s %s %s failed (the sync retries it): %s", adapter.name, change.action, change.email, exc)
            return f"{change.action} {change.email}: failed: {exc}"
        for outcome in outcomes:
            self.audit.record(
                adapter.name, [(change, "done" if outcome.ok else "failed", outcome.detail)], now, "ticket"
            )
        ok = all(o.ok for o in outcomes) and outcomes
        return f"{change.action} {change.email}: {'done' if ok else 'failed'}"
