"""The small contract every ticketing platform adapter keeps.

An adapter (one module or package per platform, listed in `connector.platforms.ADAPTERS`):
- declares what it is on the class (name, title, docs, how it authenticates webhooks), so the
  manifest and docs can be generated from the code;
- `verify(delivery, now)`: checks who sent a webhook, on the raw bytes, failing closed;
- `parse(delivery)`: turns a payload (already valid against `schemas/webhook.<name>.schema.json`)
  into one `TicketEvent`; no network;
- `fetch_ticket(id)` and `write_back(ticket, plan)`: the platform's API, through `self.client`,
  whose one network method is `_request`;
- optionally, the knowledge-base lever (`kb_holders`, `apply_access`), portal registration
  (`register_portal_user`) and SLA alerts (`alert`); the defaults say the platform has none.
The URL path `/webhooks/<name>`, the schema file, `tests/fixtures/<name>/` and `webhooks/<name>/`
all follow from `name`.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Iterator, Sequence

from connector.config.settings import PlatformSettings
from connector.core.errors import BadInput
from connector.core.events import Delivery, TicketEvent
from connector.core.kb_access import AccessChange
from connector.core.ticket import Ticket, WriteBack
from connector.platforms.client import PlatformClient


@dataclass(frozen=True)
class AccessOutcome:
    """What applying one `AccessChange` did: `ok`, and a short detail (an error, "already")."""

    change: AccessChange
    ok: bool
    detail: str = ""


@dataclass(frozen=True)
class Alert:
    """An SLA alert to put on a ticket: tags to add, an internal note, a priority to set."""

    ticket_id: str
    tags: tuple[str, ...] = ()
    note: str | None = None
    priority: str | None = None  # the platform's own priority value


class AccessLever:
    """Mixin of the optional capabilities; an adapter overrides what its platform can do.

    - `kb_holders()`: lower-case e-mails of the users who hold closed-KB access now (the truth a
      sync plans against).
    - `apply_access(changes)`: apply grants/revokes, in bulk where the API allows, honouring rate
      limits; yields one `AccessOutcome` per change as each batch completes (so the caller can
      audit as it goes and a crash loses no record of what was done). Must be idempotent: granting
      a holder or revoking a non-holder is a success that changes nothing.
    - `register_portal_user(email, name, customer_id, customer_name, org_id)`: make the person a
      portal user in the customer's organisation; returns what was done, or None if nothing was needed.
    - `alert(alert)`: put an SLA alert on a ticket; whether anything was written.
    """

    title: ClassVar[str]

    def kb_holders(self) -> set[str]:
        """Who holds closed-KB access on the platform now (lower-case e-mails)."""
        raise BadInput(f"{self.title} has no knowledge-base access lever in the connector")

    def apply_access(self, changes: Sequence[AccessChange]) -> Iterator[AccessOutcome]:
        """Apply grants and revokes; one outcome per change."""
        raise BadInput(f"{self.title} has no knowledge-base access lever in the connector")

    def register_portal_user(self, email: str, name: str | None, customer_id: str, customer_name: str,
                             org_id: str | None) -> str | None:
        """Make `email` a portal user in the customer's organisation (None: already one)."""
        raise BadInput(f"{self.title} has no portal registration in the connector")

    def alert(self, alert: Alert) -> bool:
        """Put an SLA alert on the ticket."""
        raise BadInput(f"{self.title} cannot take SLA alerts in the connector")

    @property
    def supports(self) -> frozenset[str]:
        """Which optional capabilities this adapter implements: kb, portal, alert."""
        own = type(self)
        return frozenset(name for name, method in (("kb", "apply_access"), ("portal", "register_portal_user"),
                                                   ("alert", "alert"))
                         if getattr(own, method) is not getattr(AccessLever, method))


class Adapter(AccessLever, ABC):
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

