"""The after-step that keeps the ticket ledger: after each processed event, the ticket's row is
replaced by what the processor knows now (its facts, the entitlement, both SLA readings). Reports
and the status page read only the ledger. It runs in dry-run too: the ledger is the connector's own."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from connector.core.entitlement import Entitlement
from connector.core.ledger import ledger_entry
from connector.core.ticket import Ticket, WriteBack
from connector.platforms.base import Adapter
from connector.storage.ledger import LedgerStore


class LedgerRecorder:
    """An `AfterProcessing` step (see connector.pipeline.process): one upsert per processed ticket."""

    def __init__(self, store: LedgerStore) -> None:
        self.store = store

    def __call__(
        self, adapter: Adapter, ticket: Ticket, entitlement: Entitlement, plan: WriteBack, now: datetime, dry_run: bool
    ) -> Mapping[str, Any] | None:
        self.store.record(ledger_entry(adapter.settings.name or adapter.name, ticket, entitlement, plan, now))
        return None
