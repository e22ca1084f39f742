"""The small contract every ticketing platform adapter keeps (one package per platform under
`connector/platforms/<name>/`, listed once in `connector.platforms.ADAPTERS`).

On the class, what the adapter is, so that the manifest, the docs and the config check follow
from the code: `name` (the URL path `/webhooks/<name>`, `schemas/webhook.<name>.schema.json`,
`tests/fixtures/<name>/`, `webhooks/<name>/`), `title`, `docs_url`, `authentication`, and
`settings_schema`: a JSON Schema of its `credentials`, `fields` and `options`, checked when the
config loads (a wrong option is a start-up error naming its key); optionally `check_settings`
for what a schema cannot see (references between options), checked by the composition root.

Receiving is pure (no network, no clock: `now` comes in): `verify(delivery, secret, now)` checks
the sender on the raw bytes and fails closed; `parse(delivery, payload)` turns a payload that
is valid against the platform's schema into one `TicketEvent`. `connector.platforms.receiving`
puts them together with the size, content-type, JSON and schema checks. `sign(...)` makes the
headers a genuine delivery would carry (for `connector send-test-event` and the contract tests).

The API, through `self.client` (whose one network method is `_request`): `client_for(settings)`
builds it; `fetch_ticket(id)` reports facts (comments with their author's role, status changes,
requester, organisation, the connector's fields as read) and never SLA meaning (which reply is
the first response, what pauses a clock, a default request type: `connector.core.ticket`);
`write_back(ticket, plan)` writes what the plan changes. Optional levers: the closed knowledge
base (`kb_holders`, `apply_access`), portal registration (`register_portal_user`), SLA alerts
(`alert`). Adapters never decide dry runs, tiers, calendars or SLA rules: the services do.
"""

from __future__ import annotations

import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar

from connector.config.settings import PlatformSettings
from connector.core.errors import BadInput
from connector.core.events import Delivery, TicketEvent
from connector.core.kb_access import AccessChange
from connector.core.ticket import Ticket, WriteBack
from connector.platforms.client import PlatformClient


def required(settings: PlatformSettings, *credentials: str, what: str = "") -> dict[str, str]:
    """The named credentials, or BadInput naming every missing one with the forms a secret may
    take (`key`, `key_env`, `key_file`), and base_url when it is missing too."""
    missing = [] if settings.base_url else ["base_url"]
    missing += [
        f"credentials.{name} (or {name}_env / {name}_file)"
        for name in credentials
        if not settings.credentials.get(name)
    ]
    if missing:
        raise BadInput(f"{settings.name} needs {' and '.join(missing)}{what}", f"platforms.{settings.name}")
    return {name: settings.credentials[name] for name in credentials}


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

    def note_with_tags(self) -> str | None:
        """The note's text for a platform without ticket tags: the note, then the tags on a line
        of their own (`Tags: a, b`); None when there is neither."""
        parts = [self.note.strip()] if self.note and self.note.strip() else []
        if self.tags:
            parts.append("Tags: " + ", ".join(self.tags))
        return "\n\n".join(parts) or None


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
    - `mailing_holders()`, `apply_mailing(changes)`: the same for the information mailing's tag
      (a user tag the vendor's mailing tool selects by), where the platform has user tags.
    - `alert(alert)`: put an SLA alert on a ticket; whether anything was written.
    """

    title: ClassVar[str]

    def kb_holders(self) -> set[str]:
        """Who holds closed-KB access on the platform now (lower-case e-mails)."""
        raise BadInput(f"{self.title} has no knowledge-base access lever in the connector")

    def apply_access(self, changes: Sequence[AccessChange]) -> Iterator[AccessOutcome]:
        """Apply grants and revokes; one outcome per change."""
        raise BadInput(f"{self.title} has no knowledge-base access lever in the connector")

    def mailing_holders(self) -> set[str]:
        """Who holds the information mailing's tag on the platform now (lower-case e-mails)."""
        raise BadInput(f"{self.title} has no mailing tag in the connector")

    def apply_mailing(self, changes: Sequence[AccessChange]) -> Iterator[AccessOutcome]:
        """Give (grant) or take away (revoke) the mailing tag; one outcome per change, as `apply_access`."""
        raise BadInput(f"{self.title} has no mailing tag in the connector")

    def register_portal_user(
        self, email: str, name: str | None, customer_id: str, customer_name: str, org_id: str | None
    ) -> str | None:
        """Make `email` a portal user in the customer's organisation (None: already one)."""
        raise BadInput(f"{self.title} has no portal registration in the connector")

    def alert(self, alert: Alert) -> bool:
        """Put an SLA alert on the ticket."""
        raise BadInput(f"{self.title} cannot take SLA alerts in the connector")

    @classmethod
    def capabilities(cls) -> frozenset[str]:
        """Which optional capabilities the adapter class implements: kb, mailing, portal, alert."""
        return frozenset(
            name
            for name, method in (
                ("kb", "apply_access"),
                ("mailing", "apply_mailing"),
                ("portal", "register_portal_user"),
                ("alert", "alert"),
            )
            if getattr(cls, method) is not getattr(AccessLever, method)
        )

    @property
    def supports(self) -> frozenset[str]:
        """Which optional capabilities this adapter offers with its settings (all it implements,
        unless its settings turn some off)."""
        return self.capabilities()


class Adapter(AccessLever, ABC):
    """Base of all platform adapters; see the module docstring for the contract."""

    name: ClassVar[str]
    title: ClassVar[str]
    docs_url: ClassVar[str]
    authentication: ClassVar[str]  # how webhooks prove their sender, for docs and the manifest
    settings_schema: ClassVar[Mapping[str, Any]] = {"type": "object"}  # credentials, fields, options
    replay_window: ClassVar[timedelta | None] = None  # signed deliveries older than this are refused
    signs_body: ClassVar[bool] = True  # False: a shared secret proves the sender, not the body

    def __init__(self, settings: PlatformSettings, client: PlatformClient | None = None) -> None:
        self.settings = settings
        self.client = client

    @classmethod
    def schema_name(cls) -> str:
        """The JSON Schema of this platform's webhook bodies in `schemas/`."""
        return f"webhook.{cls.name}.schema.json"

    @classmethod
    def check_settings(cls, settings: PlatformSettings) -> Sequence[str]:
        """Problems the settings schema cannot see (references between settings, syntax inside
        values), each naming its key; the composition root refuses to start on any. None here."""
        return ()

    @classmethod
    @abstractmethod
    def client_for(cls, settings: PlatformSettings) -> PlatformClient:
        """The API client for the settings (`BadInput` naming what is missing)."""

    def api(self) -> PlatformClient:
        """The API client, built on first use (receiving webhooks needs no API credentials)."""
        if self.client is None:
            self.client = self.client_for(self.settings)
        return self.client

    @abstractmethod
    def verify(self, delivery: Delivery, secret: str, now: datetime) -> None:
        """Raise `Unauthorized` unless the delivery provably comes from the platform (no secret:
        refuse everything)."""

    @abstractmethod
    def parse(self, delivery: Delivery, payload: Any) -> TicketEvent:
        """The event a schema-valid payload reports; `BadInput` if it names no ticket."""

    @abstractmethod
    def sign(self, body: bytes, secret: str, now: datetime, delivery_id: str) -> tuple[dict[str, str], str | None]:
        """The headers (and URL token, for platforms that cannot sign) a genuine delivery of
        `body` carries at `now`."""

    @abstractmethod
    def sample_body(self, ticket_id: str, now: datetime) -> bytes:
        """A ticket-created notification for `ticket_id`, shaped as the platform sends one."""

    @abstractmethod
    def fetch_ticket(self, ticket_id: str) -> Ticket:
        """The ticket's facts as they are now."""

    @abstractmethod
    def write_back(self, ticket: Ticket, plan: WriteBack) -> bool:
        """Write the changed fields (and the note, if any) in as few calls as the API allows;
        whether anything was written (False when the platform cannot hold a change)."""

    def sample_delivery(self, ticket_id: str, now: datetime) -> tuple[dict[str, str], bytes, str | None]:
        """A test delivery for `ticket_id` as the platform would send it now: headers (signed,
        where the platform signs), body, URL token. For `connector send-test-event`."""
        body = self.sample_body(ticket_id, now)
        headers, token = self.sign(body, self.settings.webhook_secret, now, f"test-{uuid.uuid4().hex}")
        return {"Content-Type": "application/json", "User-Agent": "connector send-test-event", **headers}, body, token

    def install(self, webhook_url: str, apply: bool) -> list[str]:
        """Set the platform up to call `webhook_url` (when `apply`), or say what an admin must do.
        Returns the lines to print. The default points at `webhooks/<name>/`."""
        return [f"See webhooks/{self.name}/README.md to point {self.title} at {webhook_url}"]
