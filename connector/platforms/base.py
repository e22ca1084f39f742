"""The small contract every ticketing platform adapter keeps.

An adapter (one module or package per platform, listed in `connector.platforms.ADAPTERS`):
- declares what it is on the class (name, title, docs, how it authenticates webhooks), so the
  manifest and docs can be generated from the code;
- `verify(delivery, now)`: checks who sent a webhook, on the raw bytes, failing closed;
- `parse(delivery)`: turns a payload (already valid against `schemas/webhook.<name>.schema.json`)
  into one `TicketEvent`; no network;
- `fetch_ticket(id)` and `write_back(ticket, plan)`: the platform's API, through `self.client`,
  whose one network method is `_request`.
The URL path `/webhooks/<name>`, the schema file, `tests/fixtures/<name>/` and `webhooks/<name>/`
all follow from `name`.
"""
from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Mapping

from connector.core.ticket import Ticket, WriteBack
from connector.errors import BadInput
from connector.platforms.client import PlatformClient


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


@dataclass(frozen=True)
class PlatformSettings:
    """One platform's section of the config file, secrets already resolved."""

    name: str
    base_url: str = ""
    webhook_secret: str = ""
    credentials: Mapping[str, str] = field(default_factory=dict)
    fields: Mapping[str, str] = field(default_factory=dict)  # our field -> the platform's field id
    tag_prefix: str = "sla_"
    dry_run: bool = False
    options: Mapping[str, Any] = field(default_factory=dict)


class Adapter(ABC):
    """Base of all platform adapters; see the module docstring for the contract."""

    name: ClassVar[str]
    title: ClassVar[str]
    docs_url: ClassVar[str]
    authentication: ClassVar[str]  # how webhooks prove their sender, for docs and the manifest

    def __init__(self, settings: PlatformSettings, client: PlatformClient | None = None) -> None:
        self.settings = settings
        self.client = client

    @classmethod
    def schema_name(cls) -> str:
        """The JSON Schema of this platform's webhook bodies in `schemas/`."""
        return f"webhook.{cls.name}.schema.json"

    @abstractmethod
    def verify(self, delivery: Delivery, now: datetime) -> None:
        """Raise `Unauthorized` unless the delivery provably comes from the platform."""

    @abstractmethod
    def parse(self, delivery: Delivery, payload: Any) -> TicketEvent:
        """The event a schema-valid payload reports; `BadInput` if it names no ticket."""

    @abstractmethod
    def fetch_ticket(self, ticket_id: str) -> Ticket:
        """The ticket as it is now, with its status history and the connector's fields."""

    @abstractmethod
    def write_back(self, ticket: Ticket, plan: WriteBack) -> bool:
        """Write the changed fields (and the note, if any) in as few calls as the API allows;
        whether anything was written (False in dry-run, or when the platform cannot hold a change)."""

    def sample_delivery(self, ticket_id: str, now: datetime) -> tuple[dict[str, str], bytes, str | None]:
        """A test delivery for `ticket_id` as the platform would send it now: headers (signed,
        where the platform signs), body, URL token. For `connector send-test-event`."""
        raise BadInput(f"{self.title} has no test event yet: trigger a real ticket event instead")

    def install(self, webhook_url: str, apply: bool) -> list[str]:
        """Set the platform up to call `webhook_url` (when `apply`), or say what an admin must do.
        Returns the lines to print. The default points at `webhooks/<name>/`."""
        return [f"See webhooks/{self.name}/README.md to point {self.title} at {webhook_url}"]
