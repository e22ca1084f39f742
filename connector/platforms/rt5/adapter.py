"""The Request Tracker 5 adapter: deliveries from the scrip we ship (webhooks/rt5/), signed as
Standard Webhooks, in; REST 2 with an auth token out.

RT fires one transaction per change, the connector's own writes included: the scrip skips the
connector's RT user, this adapter reports that user's comments as the connector's, and a pass
over an unchanged ticket writes nothing. Every write is read back (RT answers 200 even when it
refused a value) and a field that did not take fails the event, naming it.
Docs: https://docs.bestpractical.com/rt/5.0.3/RT/REST2.html
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from connector.config.settings import PlatformSettings
from connector.core.errors import BadInput
from connector.core.events import Delivery, TicketEvent
from connector.core.kb_access import AccessChange
from connector.core.ticket import Ticket, WriteBack
from connector.platforms import standard_webhooks
from connector.platforms.base import AccessOutcome, Adapter, Alert, required
from connector.platforms.client import PlatformClient
from connector.platforms.rt5 import access, install, reading, writing

MAX_HISTORY_PAGES = 100  # 100 transactions a page
EVENTS = {"ticket.created", "ticket.correspond", "ticket.comment", "ticket.status_changed"}
CF_NAME = {"type": "string", "minLength": 1, "description": "the RT custom field's name"}
SETTINGS_SCHEMA = {
    "type": "object",
    "properties": {
        "credentials": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"token": {"type": "string", "description": "an auth token of the connector's RT user"}},
        },
        "fields": {
            "type": "object",
            "additionalProperties": False,
            "description": "our field -> the RT ticket custom field's name (default: the same name)",
            "properties": {
                name: CF_NAME for name in ("tier", "first_response_due", "flags", "product", "request_type", "topic")
            },
        },
        "options": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "connector_user": {
                    "type": "string",
                    "minLength": 1,
                    "default": "connector",
                    "description": "the connector's RT user (its changes are its own, never events)",
                },
                "kb_group": {
                    "type": "string",
                    "minLength": 1,
                    "description": "the group holding the closed Articles class's rights (name or id); "
                    "turns KB access and portal registration on",
                },
                "statuses": {
                    "type": "object",
                    "additionalProperties": {"enum": ["new", "open", "pending", "hold", "solved", "closed"]},
                    "description": "RT status -> common status, for lifecycles other than the default",
                },
            },
        },
    },
}


class Rt5Adapter(Adapter):
    """Request Tracker 5: the scrip's Standard Webhooks in, REST 2 (token auth) out."""

    name = reading.PLATFORM
    title = "Request Tracker 5"
    docs_url = "https://docs.bestpractical.com/rt/5.0.3/RT/REST2.html"
    authentication = standard_webhooks.AUTHENTICATION
    settings_schema = SETTINGS_SCHEMA
    replay_window = standard_webhooks.TOLERANCE

    def __init__(self, settings: PlatformSettings, client: PlatformClient | None = None) -> None:
        super().__init__(settings, client)
        self._directory: access.Rt5Directory | None = None

    @classmethod
    def client_for(cls, settings: PlatformSettings) -> PlatformClient:
        """REST 2 under the RT web root, `Authorization: token ...`."""
        token = required(settings, "token", what=" (base_url: RT's web root)")["token"]
        return PlatformClient(settings.base_url.rstrip("/") + "/REST/2.0", headers={"Authorization": f"token {token}"})

    # -- receiving -------------------------------------------------------------------------

    def verify(self, delivery: Delivery, secret: str, now: datetime) -> None:
        """A Standard Webhooks signature by one of the configured secrets, within 5 minutes."""
        standard_webhooks.check(secret, delivery, now)

    def parse(self, delivery: Delivery, payload: Any) -> TicketEvent:
        """The scrip's body: `type`, `data.ticket`, `data.transaction`; the delivery id is `webhook-id`."""
        ticket = payload["data"]["ticket"]
        if isinstance(ticket, bool) or not str(ticket).isdigit():
            raise BadInput(f"data.ticket {str(ticket)[:40]!r} is not a ticket id", "/data/ticket")
        if payload["type"] not in EVENTS:
            raise BadInput(
                f"{payload['type']!r} is not an event the scrip sends ({', '.join(sorted(EVENTS))})", "/type"
            )
        occurred = reading.rt_moment(payload.get("timestamp"), "timestamp") if payload.get("timestamp") else None
        return TicketEvent(
            self.name,
            str(int(ticket)),
            payload["type"],
            delivery.header(standard_webhooks.ID) or delivery.content_hash,
            occurred,
        )

    def sign(self, body: bytes, secret: str, now: datetime, delivery_id: str) -> tuple[dict[str, str], str | None]:
        """The headers the scrip sends."""
        return standard_webhooks.sign(secret, body, now, delivery_id), None

    def sample_body(self, ticket_id: str, now: datetime) -> bytes:
        """A `ticket.created` delivery for `ticket_id`, as the scrip sends one."""
        stamp = now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        data = {
            "actor": "connector send-test-event",
            "queue": "General",
            "ticket": int(ticket_id),
            "transaction": 0,
            "transaction_type": "Create",
        }
        return json.dumps(
            {"data": data, "timestamp": stamp, "type": "ticket.created"}, sort_keys=True, separators=(",", ":")
        ).encode()

    # -- the API ---------------------------------------------------------------------------

    def directory(self) -> access.Rt5Directory:
        """Users and the KB group, cached for this adapter's life."""
        if self._directory is None:
            self._directory = access.Rt5Directory(self.api(), self.settings.options)
        return self._directory

    def fetch_ticket(self, ticket_id: str) -> Ticket:
        """The ticket, its whole history, and the users it names (privileged or not)."""
        if not str(ticket_id).isdigit():
            raise BadInput(f"not an RT ticket id: {ticket_id!r}")
        directory = self.directory()
        doc = self.api().call("GET", f"/ticket/{ticket_id}") or {}
        history = self._history(ticket_id)
        names = reading.history_authors(history, self.settings.options)
        names |= {str(r.get("id")) for r in doc.get("Requestor") or []}
        owner = str((doc.get("Owner") or {}).get("id") or reading.NOBODY)
        names |= {owner} - {reading.NOBODY}
        users = {name: directory.user(name) for name in sorted(names)}
        return reading.to_ticket(doc, history, users, self.settings.fields, self.settings.options)

    def _history(self, ticket_id: str) -> list[dict[str, Any]]:
        """Every transaction, oldest first; pages until an empty one (RT gives non-superusers no
        page count, and may return short pages while more follow)."""
        items: list[dict[str, Any]] = []
        for page in range(1, MAX_HISTORY_PAGES + 1):
            answer = (
                self.api().call(
                    "GET",
                    f"/ticket/{ticket_id}/history?per_page=100&page={page}"
                    "&fields=Type,Created,Creator,Field,OldValue,NewValue",
                )
                or {}
            )
            found = answer.get("items") or []
            if not found:
                break
            items += found
        return items

    def write_back(self, ticket: Ticket, plan: WriteBack) -> bool:
        """One PUT of the changed fields, read back and checked; then the note as a comment. The
        PUT goes first: if the note then fails, a retry finds the tier set and adds no second note."""
        if not plan.needed:
            return False
        owner = None
        if "assignee" in plan.changed and plan.desired.assignee:
            owner = self.directory().name_of(plan.desired.assignee)
        body = writing.put_body(ticket, plan.desired, plan.changed, self.settings.fields, owner)
        if body:
            said = self.api().call("PUT", f"/ticket/{ticket.id}", body)
            writing.check_written(body, self.api().call("GET", f"/ticket/{ticket.id}") or {}, said, ticket.id)
        if plan.note:
            self.api().call(
                "POST",
                f"/ticket/{ticket.id}/comment",
                {"Content": plan.note, "ContentType": "text/plain"},
                expect=(201,),
            )
        return bool(body or plan.note)

    # -- KB access, portal users, alerts -----------------------------------------------------

    @property
    def supports(self) -> frozenset[str]:
        """Alerts always; KB access and portal users once `options.kb_group` names the group."""
        caps = super().supports
        return caps if self.settings.options.get("kb_group") else caps - {"kb", "portal"}

    def kb_holders(self) -> set[str]:
        """The closed-KB group's members, as lower-case e-mails."""
        return access.kb_holders(self.directory())

    def apply_access(self, changes: Sequence[AccessChange]) -> Iterator[AccessOutcome]:
        """Add to / remove from the group (an RT user is created for a grant when there is none)."""
        return access.apply_access(self.directory(), changes)

    def register_portal_user(
        self, email: str, name: str | None, customer_id: str, customer_name: str, org_id: str | None
    ) -> str | None:
        """An unprivileged RT user (self-service) for the contact, its organisation the customer's name."""
        return access.register_portal_user(self.directory(), email, name, customer_name)

    def alert(self, alert: Alert) -> bool:
        """The priority and an internal comment carrying the note and the tags."""
        return access.alert(self.api(), alert)

    def install(self, webhook_url: str, apply: bool) -> list[str]:
        """What an RT admin runs (RT's REST 2 cannot create scrips); with --apply, also check
        through the API what exists and name what is missing."""
        lines = install.admin_steps(webhook_url, self.settings)
        return lines + (install.check(self.api(), self.settings) if apply else [])
