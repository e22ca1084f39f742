"""The Zendesk adapter: signed ticket-event webhooks in, Support API reads and one write out.

Webhooks are notifications; the API is the truth. `fetch_ticket` makes two calls (the ticket
with its users side-loaded, its audits with their authors side-loaded; more pages if the ticket
has over 100 audits) and a third only when a needed user was not side-loaded.
Docs: https://developer.zendesk.com/api-reference/webhooks/event-types/ticket-events/,
https://developer.zendesk.com/documentation/ticketing/using-the-zendesk-api/side_loading/,
https://support.zendesk.com/hc/en-us/articles/115000510267 (API token auth: `{email}/token:{api_token}`),
https://developer.zendesk.com/api-reference/introduction/rate-limits/ (429 + Retry-After).
The KB lever (a user tag matched by a Help Center user segment), portal registration and SLA
alerts are in access.py; this class delegates to it.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from connector.config.settings import PlatformSettings
from connector.core.errors import BadInput
from connector.core.events import Delivery, TicketEvent
from connector.core.kb_access import AccessChange
from connector.core.ticket import Ticket, WriteBack
from connector.platforms.base import AccessOutcome, Adapter, Alert, required
from connector.platforms.client import PlatformClient
from connector.platforms.pacing import PacedApi
from connector.platforms.zendesk import install as installing
from connector.platforms.zendesk import reading, signature, writing
from connector.platforms.zendesk.alerts import put_alert
from connector.platforms.zendesk.kb_lever import ZendeskKbLever
from connector.platforms.zendesk.portal import ZendeskPortal

log = logging.getLogger(__name__)

EVENT_PREFIX = "zen:event-type:"
FIELD_ID = {"type": ["integer", "string"], "pattern": "^[0-9]+$", "minimum": 1}
SETTINGS_SCHEMA = {
    "type": "object",
    "properties": {
        "credentials": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "email": {"type": "string", "description": "the API user's e-mail"},
                "api_token": {"type": "string", "description": "an API token (Admin Center > Apps and integrations)"},
            },
        },
        "fields": {
            "type": "object",
            "additionalProperties": False,
            "description": "custom ticket field ids",
            "properties": {
                name: FIELD_ID
                for name in ("tier", "first_response_due", "resolution_due", "product", "request_type", "topic")
            },
        },
        "options": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "kb_tag": {
                    "type": "string",
                    "pattern": "^[A-Za-z0-9_:-]+$",
                    "default": "kb_closed",
                    "description": "the user tag the closed KB's Help Center user segment matches",
                },
                "mailing_tag": {
                    "type": "string",
                    "pattern": "^[A-Za-z0-9_:-]+$",
                    "description": "a user tag kept on exactly the contacts on the information mailing"
                    " list (warranty or contract customers); unset: no mailing tag",
                },
                "tier_values": {
                    "type": "object",
                    "additionalProperties": {"type": "string"},
                    "description": "tier code -> option value, when the tier field is a drop-down",
                },
                "api_requests_per_minute": {
                    "type": "number",
                    "exclusiveMinimum": 0,
                    "description": "pace bulk work (KB sync) under the account's limit",
                },
                "job_window": {"type": "integer", "minimum": 1, "description": "bulk jobs in flight at once"},
                "job_poll_seconds": {"type": "number", "minimum": 0},
                "job_timeout_seconds": {"type": "number", "exclusiveMinimum": 0},
                "job_max_polls": {"type": "integer", "minimum": 1},
                "kb_segment_name": {
                    "type": "string",
                    "minLength": 1,
                    "default": "Closed knowledge base",
                    "description": "the Help Center user segment `install --apply` creates",
                },
                "signing_secret_file": {
                    "type": "string",
                    "minLength": 1,
                    "description": "where `install --apply` writes the new webhook's signing secret",
                },
            },
        },
    },
}
MAX_AUDIT_PAGES = 60  # 100 audits a page; Zendesk caps a ticket at 5,000 comments


class ZendeskAdapter(Adapter):
    """Zendesk Support: event webhooks signed with HMAC-SHA256, custom fields and tags."""

    name = "zendesk"
    title = "Zendesk"
    docs_url = "https://developer.zendesk.com/api-reference/webhooks/event-types/ticket-events/"
    authentication = (
        "X-Zendesk-Webhook-Signature: base64(HMAC-SHA256(signing secret, "
        "X-Zendesk-Webhook-Signature-Timestamp + raw body)), timestamp within 5 minutes"
    )
    replay_window = signature.MAX_SKEW
    settings_schema = SETTINGS_SCHEMA
    # waits (Retry-After, pacing, job polls) and their clock; tests replace them
    sleep: Callable[[float], None] = staticmethod(time.sleep)
    clock: Callable[[], float] = staticmethod(time.monotonic)

    def __init__(self, settings: PlatformSettings, client: PlatformClient | None = None) -> None:
        super().__init__(settings, client)
        self._paced_api: PacedApi | None = None
        self._kb_lever: ZendeskKbLever | None = None
        self._mailing_lever: ZendeskKbLever | None = None

    @property
    def supports(self) -> frozenset[str]:
        """Every capability, the mailing tag only when `options.mailing_tag` names one."""
        caps = self.capabilities()
        return caps if self.settings.options.get("mailing_tag") else caps - {"mailing"}

    @classmethod
    def client_for(cls, settings: PlatformSettings) -> PlatformClient:
        """A client for https://{subdomain}.zendesk.com with API token auth (`{email}/token`)."""
        creds = required(settings, "email", "api_token")
        return PlatformClient(settings.base_url, auth=(f"{creds['email']}/token", creds["api_token"]))

    # -- receiving ---------------------------------------------------------------------------

    def verify(self, delivery: Delivery, secret: str, now: datetime) -> None:
        """Check the signature on the raw bytes, in constant time, within 5 minutes of `now`."""
        signature.check(
            secret,
            delivery.header(signature.SIGNATURE_HEADER),
            delivery.header(signature.TIMESTAMP_HEADER),
            delivery.body,
            now,
        )

    def sign(self, body: bytes, secret: str, now: datetime, delivery_id: str) -> tuple[dict[str, str], str | None]:
        """The signature headers Zendesk sends with `body` at `now`."""
        stamp = now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return {
            signature.TIMESTAMP_HEADER: stamp,
            signature.SIGNATURE_HEADER: signature.sign(secret, stamp, body),
            signature.INVOCATION_HEADER: delivery_id,
        }, None

    def parse(self, delivery: Delivery, payload: Any) -> TicketEvent:
        """A ticket event from a schema-valid event payload; BadInput for non-ticket events."""
        kind = str(payload["type"]).removeprefix(EVENT_PREFIX)
        if not kind.startswith("ticket."):
            raise BadInput(f"{payload['type']} is not a ticket event (subscribe only to ticket events)", "/type")
        ticket_id = str(payload["detail"]["id"]).strip()
        if not (ticket_id.isascii() and ticket_id.isdigit()):  # not "²" nor "١٢": str.isdigit takes those
            raise BadInput(f"detail.id {ticket_id[:40]!r} is not a ticket id", "/detail/id")
        return TicketEvent(
            platform=self.name,
            ticket_id=ticket_id,
            kind=kind,
            delivery_id=delivery.header(signature.INVOCATION_HEADER) or delivery.content_hash,
            occurred_at=reading.parse_moment(payload.get("time")),
        )

    # -- the API -----------------------------------------------------------------------------

    def fetch_ticket(self, ticket_id: str) -> Ticket:
        """The ticket now: fields, requester, assignee, status history, first public agent reply."""
        if not (str(ticket_id).isascii() and str(ticket_id).isdigit()):
            raise BadInput(f"not a Zendesk ticket id: {ticket_id!r}")
        client = self.api()
        answer = client.call("GET", f"/api/v2/tickets/{ticket_id}.json?include=users") or {}
        ticket = answer.get("ticket") or {}
        users = {u["id"]: u for u in answer.get("users") or [] if "id" in u}
        audits = self._audits(client, ticket_id, users)
        wanted = {ticket.get("requester_id"), ticket.get("assignee_id")} | reading.comment_authors(audits)
        missing = sorted(u for u in wanted if isinstance(u, int) and u not in users)
        if missing:  # one batched lookup for whoever the side-loads left out
            more = client.call("GET", f"/api/v2/users/show_many.json?ids={','.join(map(str, missing))}") or {}
            users.update({u["id"]: u for u in more.get("users") or [] if "id" in u})
        return reading.to_ticket(
            ticket, audits, users, self.settings.fields, self.settings.tag_prefix, self._tier_values()
        )

    def _audits(self, client: PlatformClient, ticket_id: str, users: dict[int, Any]) -> list[Mapping[str, Any]]:
        """Every audit of the ticket (cursor pagination), authors side-loaded into `users`."""
        audits: list[Mapping[str, Any]] = []
        params = {"include": "users", "page[size]": "100"}
        for _ in range(MAX_AUDIT_PAGES):
            page = client.call("GET", f"/api/v2/tickets/{ticket_id}/audits.json?{urlencode(params)}") or {}
            audits.extend(page.get("audits") or [])
            users.update({u["id"]: u for u in page.get("users") or [] if "id" in u})
            meta = page.get("meta") or {}
            if not (meta.get("has_more") and meta.get("after_cursor")):
                break
            params = {"include": "users", "page[size]": "100", "page[after]": meta["after_cursor"]}
        else:
            log.warning(
                "zendesk: ticket %s has more than %d pages of audits; read the first ones", ticket_id, MAX_AUDIT_PAGES
            )
        return sorted(audits, key=lambda a: (str(a.get("created_at", "")), a.get("id", 0)))

    def write_back(self, ticket: Ticket, plan: WriteBack) -> bool:
        """One PUT with only what changed; nothing when nothing changed."""
        body = writing.update_body(ticket, plan, self.settings.fields, self.settings.tag_prefix, self._tier_values())
        if body is None:
            return False
        self.api().call("PUT", f"/api/v2/tickets/{ticket.id}.json", body)
        return True

    def sample_body(self, ticket_id: str, now: datetime) -> bytes:
        """A `ticket.created` event for `ticket_id`, shaped as Zendesk sends it."""
        stamp = now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return json.dumps(
            {
                "account_id": 0,
                "id": str(uuid.uuid4()),
                "subject": f"zen:ticket:{ticket_id}",
                "time": stamp,
                "type": f"{EVENT_PREFIX}ticket.created",
                "zendesk_event_version": "2022-11-06",
                "event": {},
                "detail": {"id": str(ticket_id), "status": "NEW", "created_at": stamp, "updated_at": stamp},
            }
        ).encode()

    def _tier_values(self) -> dict[str, str]:
        """Tier code -> dropdown option value, when the tier field is a dropdown (options.tier_values)."""
        return dict(self.settings.options.get("tier_values") or {})

    # -- KB access, portal registration, alerts ----------------------------------------------------

    def _paced(self) -> PacedApi:
        """The paced API, built once (it keeps the request pacing between calls)."""
        if self._paced_api is None:
            self._paced_api = PacedApi(
                self.api(), self.settings.options.get("api_requests_per_minute"), self.sleep, self.clock
            )
        return self._paced_api

    def _lever(self) -> ZendeskKbLever:
        if self._kb_lever is None:
            self._kb_lever = ZendeskKbLever(self._paced(), self.settings.options)
        return self._kb_lever

    def kb_holders(self) -> set[str]:
        """Lower-case e-mails of the users holding the KB tag (options.kb_tag, default kb_closed)."""
        return self._lever().holders()

    def apply_access(self, changes: Sequence[AccessChange]) -> Iterator[AccessOutcome]:
        """Add or remove the KB tag in bulk jobs of 100, never touching other tags; one outcome per change."""
        return self._lever().apply(changes)

    def _mailing(self) -> ZendeskKbLever:
        """The tag lever on `options.mailing_tag` (never the KB tag: the two syncs would undo each other)."""
        tag = str(self.settings.options.get("mailing_tag") or "")
        if not tag:
            raise BadInput("zendesk has no options.mailing_tag: the mailing tag is not kept", "platforms.zendesk")
        if tag == self._lever().tag:
            raise BadInput(f"options.mailing_tag {tag!r} is the KB tag: give it a tag of its own", "platforms.zendesk")
        if self._mailing_lever is None:
            self._mailing_lever = ZendeskKbLever(self._paced(), self.settings.options, tag)
        return self._mailing_lever

    def mailing_holders(self) -> set[str]:
        """Lower-case e-mails of the users holding the mailing tag."""
        return self._mailing().holders()

    def apply_mailing(self, changes: Sequence[AccessChange]) -> Iterator[AccessOutcome]:
        """Add or remove the mailing tag, exactly as the KB tag (other tags untouched)."""
        return self._mailing().apply(changes)

    def register_portal_user(
        self, email: str, name: str | None, customer_id: str, customer_name: str, org_id: str | None
    ) -> str | None:
        """Make `email` an end user in the customer's organisation (None: already one)."""
        return ZendeskPortal(self._paced(), self._lever().lookup).register(
            email, name, customer_id, customer_name, org_id
        )

    def alert(self, alert: Alert) -> bool:
        """Tags, an internal note and the priority on the ticket, in one update."""
        return put_alert(self._paced(), alert)

    # -- installing --------------------------------------------------------------------------

    def install(self, webhook_url: str, apply: bool) -> list[str]:
        """Create the webhook and the closed-KB user segment through the API, or list the clicks."""
        if not apply:
            return installing.admin_steps(webhook_url, self.settings.base_url, self.settings.options)
        return installing.apply(
            self.api(), webhook_url, self.settings.webhook_secret, self.settings.options
        ) + installing.ensure_user_segment(self.api(), self.settings.options)
