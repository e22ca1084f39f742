"""What a platform tells the connector: one webhook request as received (`Delivery`) and the
ticket event it reports (`TicketEvent`). Plain data, shared by receiving, storage and the pipeline."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Delivery:
    """One webhook request as received: lower-cased headers, the raw body, the URL's token."""

    headers: Mapping[str, str]
    body: bytes
    token: str | None = None  # `?token=` of the URL, for platforms that cannot sign

    def header(self, name: str) -> str | None:
        """A header by case-insensitive name."""
        return self.headers.get(name.lower())

    @property
    def content_hash(self) -> str:
        """A delivery id for platforms that send none: the SHA-256 of the body."""
        return "sha256:" + hashlib.sha256(self.body).hexdigest()


@dataclass(frozen=True)
class TicketEvent:
    """A platform's notification that something happened to a ticket."""

    platform: str
    ticket_id: str
    kind: str  # e.g. ticket.created, ticket.status_changed, ticket.comment_added
    delivery_id: str  # the platform's invocation id, or the content hash
    occurred_at: datetime | None = None
