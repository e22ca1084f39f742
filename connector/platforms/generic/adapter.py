"""The generic JSON webhook platform: any tracker that POSTs JSON on a ticket change and has an
HTTP API, configured in TOML instead of code (`[platforms.generic]`, presets `zammad` and `glpi`).

Receiving: the configured signature scheme on the raw bytes (connector.platforms.generic.
signature), then JSON Pointers into the body for the ticket id, the event kind, the delivery id
and when. The body is any JSON object (schemas/webhook.generic.schema.json): the mapping checks
the shape and a body that names no ticket is a 400 naming the pointer.

Processing: the webhook only notifies. `fetch_ticket` makes the configured reads (a GET template
each, later ones may name values of earlier ones) and reads the facts and the connector's own
values back through selectors, so that a second pass over a written ticket writes nothing.
`write_back` renders each write call's JSON template with the plan's values and sends it only
when one of its values changed (a note counts when there is one).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from jsonpointer import JsonPointerException

from connector.config.settings import PlatformSettings
from connector.core.errors import BadInput
from connector.core.events import Delivery, TicketEvent
from connector.core.ticket import Ticket, WriteBack
from connector.platforms.base import Adapter
from connector.platforms.client import PlatformClient
from connector.platforms.generic import mapping as mappings
from connector.platforms.generic.client import TrackerClient, context
from connector.platforms.generic.reading import TicketReader, read_answers, ticket_id_of
from connector.platforms.generic.schema import SETTINGS_SCHEMA
from connector.platforms.generic.sources import clean, moment
from connector.platforms.generic.templates import DROP, render_body


class GenericAdapter(Adapter):
    """Any JSON webhook and HTTP API, mapped by JSON Pointers and templates in the config."""

    name = "generic"
    title = "Generic JSON webhook (Zammad, GLPI, in-house trackers)"
    docs_url = "https://www.rfc-editor.org/rfc/rfc6901"
    authentication = (
        "configurable: HMAC-SHA256/SHA-1 (hex or base64) of the raw body with an optional "
        "timestamp and tolerance, Standard Webhooks, or a shared secret in a header or the URL; "
        "presets: Zammad X-Hub-Signature (sha1=), GLPI X-GLPI-signature of body + X-GLPI-timestamp"
    )
    settings_schema = SETTINGS_SCHEMA

    def __init__(self, settings: PlatformSettings, client: PlatformClient | None = None) -> None:
        super().__init__(settings, client)
        self.mapping = mappings.load(settings)
        self.signs_body = self.mapping.scheme.signs_body  # type: ignore[misc]

    @classmethod
    def check_settings(cls, settings: PlatformSettings) -> Sequence[str]:
        """Every problem of the mapping (pointers, templates, references, what a preset needs)."""
        return mappings.build(settings)[1]

    @classmethod
    def client_for(cls, settings: PlatformSettings) -> PlatformClient:
        """The tracker's API client: headers, basic auth or a login session, from the mapping."""
        return TrackerClient(settings.base_url, mappings.load(settings), settings.credentials)

    # -- receiving ---------------------------------------------------------------------------

    def verify(self, delivery: Delivery, secret: str, now: datetime) -> None:
        """The configured scheme, on the raw bytes; no secret refuses everything."""
        self.mapping.scheme.check(delivery, secret, now)

    def parse(self, delivery: Delivery, payload: Any) -> TicketEvent:
        """The ticket, kind, delivery id and moment the configured pointers find in the body."""
        m = self.mapping
        if not isinstance(payload, dict):
            raise BadInput("the body must be a JSON object")
        found = m.ticket_id.value(delivery, payload)
        if found is None or found == "":
            raise BadInput(f"the body has no ticket id at {m.ticket_id.text} (options.event.ticket_id)")
        ticket_id = ticket_id_of(found, m.ticket_id.text)
        raw_kind = clean(m.kind.value(delivery, payload)) if m.kind else None
        kind = m.kinds.get(raw_kind, raw_kind) if raw_kind else "ticket.event"
        delivery_id = clean(m.delivery_id.value(delivery, payload)) if m.delivery_id else None
        if m.scheme.kind == "standard-webhooks" and delivery_id is None:
            delivery_id = delivery.header("webhook-id")
        try:
            occurred_at = moment(m.occurred_at.value(delivery, payload), m.zone) if m.occurred_at else None
        except ValueError:  # an unreadable time does not make the notification useless
            occurred_at = None
        return TicketEvent(
            self.name, ticket_id, kind[:200], delivery_id[:200] if delivery_id else delivery.content_hash, occurred_at
        )

    def sign(self, body: bytes, secret: str, now: datetime, delivery_id: str) -> tuple[dict[str, str], str | None]:
        """The headers (or URL token) of the configured scheme, with the delivery id header."""
        headers, token = self.mapping.scheme.sign(body, secret, now, delivery_id)
        source = self.mapping.delivery_id
        if source is not None and source.header and source.header not in {k.lower() for k in headers}:
            headers[source.header] = delivery_id
        return headers, token

    def sample_body(self, ticket_id: str, now: datetime) -> bytes:
        """A body with the ticket id (and the time) where the mapping's pointers look; the
        processor then reads the real ticket."""
        doc: dict[str, Any] = {}
        stamp = now.astimezone(UTC).isoformat().replace("+00:00", "Z")
        m = self.mapping
        kind = next((raw for raw, ours in m.kinds.items() if ours == "ticket.created"), "ticket.created")
        for source, value in (
            (m.ticket_id, int(ticket_id) if ticket_id.isdigit() else ticket_id),
            (m.kind, kind),
            (m.occurred_at, stamp),
        ):
            if source is not None and source.ptr is not None and source.ptr.parts:
                _put(doc, source.ptr.parts, value)
        return json.dumps(doc).encode("utf-8")

    def sample_delivery(self, ticket_id: str, now: datetime) -> tuple[dict[str, str], bytes, str | None]:
        """A test delivery as the tracker would send it (its event header names it a test)."""
        headers, body, token = super().sample_delivery(ticket_id, now)
        if self.mapping.kind is not None and self.mapping.kind.header:
            headers[self.mapping.kind.header] = "connector send-test-event"
        return headers, body, token

    # -- the API -----------------------------------------------------------------------------

    def fetch_ticket(self, ticket_id: str) -> Ticket:
        """The configured reads, in order, and the ticket's facts from their answers."""
        ticket_id = ticket_id_of(ticket_id, "ticket id")
        api = self.api()
        answers = read_answers(
            self.mapping,
            ticket_id,
            lambda path: api.call("GET", path),
            context(self.mapping, self.settings.credentials),
        )
        return TicketReader(self.mapping, answers).ticket(ticket_id)

    def write_back(self, ticket: Ticket, plan: WriteBack) -> bool:
        """Each write call whose values changed, in the configured order (put the note last:
        if it then fails, the retry finds the tier set and writes no second note)."""
        if not plan.needed:
            return False
        desired = plan.desired
        changed = set(plan.changed) | ({"note"} if plan.note else set())
        if desired.assignee is None:  # never unassign: agents own that
            changed.discard("assignee")
        values = {
            **context(self.mapping, self.settings.credentials),
            "ticket_id": ticket.id,
            "tier": desired.tier,
            "first_response_due": desired.first_response_due,
            "resolution_due": desired.resolution_due,
            "flags": sorted(desired.flags),
            "assignee": desired.assignee,
            "note": plan.note,
        }
        written = False
        for call in self.mapping.writes:
            body = render_body(call.body, values, changed, self.mapping.zone)
            if body is DROP:
                continue
            self.api().call(call.method, call.path.render(values, in_path=True), body)
            written = True
        return written

    def install(self, webhook_url: str, apply: bool) -> list[str]:
        """What to set on the tracker (it has no API for it here): the URL and the scheme."""
        scheme = self.mapping.scheme
        url = f"{webhook_url}?token=<webhook secret>" if scheme.kind == "url-token" else webhook_url
        preset = f" (preset {self.mapping.preset})" if self.mapping.preset else ""
        return [
            f"Point the tracker's webhook{preset} at {url} (POST, JSON body).",
            f"It must prove itself with {scheme.describe()}, keyed with platforms.{self.name}.webhook_secret.",
            f"See webhooks/{self.name}/README.md for the steps on Zammad and GLPI and the fields to create.",
        ]


def _put(doc: dict[str, Any], parts: list[str], value: Any) -> None:
    """Set `value` at the pointer's parts, making the objects on the way."""
    node = doc
    for part in parts[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise JsonPointerException(f"/{'/'.join(parts)} crosses a value")
    node[parts[-1]] = value
