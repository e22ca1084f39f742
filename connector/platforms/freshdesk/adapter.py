"""The Freshdesk adapter: automation-rule webhooks in (a shared secret in a custom header), API v2
reads and writes out.

A Freshdesk webhook is only a notification written by the admin from `{{ticket.*}}` placeholders:
the connector re-reads the ticket (`GET /api/v2/tickets/{id}?include=requester,company,stats`,
4 API credits, and its conversations), and checks, only for outgoing conversations by someone
other than the ticket's agent, whether their author is an agent (`GET /api/v2/agents/{id}`).
Freshdesk sends no delivery id, signature or timestamp: the delivery id is the body's hash, and
the header secret proves the sender, not the body. Authentication: Basic `<API key>:X`
(https://developers.freshdesk.com/api/#authentication). Rate limits: a 429 carries Retry-After
(https://developers.freshdesk.com/api/#ratelimit); webhooks count against the same quota.
"""

from __future__ import annotations

import hmac
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from connector.config.settings import PlatformSettings
from connector.core.errors import PlatformRejected, Unauthorized
from connector.core.events import Delivery, TicketEvent
from connector.core.kb_access import AccessChange
from connector.core.ticket import Ticket, WriteBack
from connector.platforms.base import AccessOutcome, Adapter, Alert, required
from connector.platforms.client import PlatformClient
from connector.platforms.freshdesk import install as installing
from connector.platforms.freshdesk import reading, writing
from connector.platforms.freshdesk.access import FreshdeskAccess
from connector.platforms.freshdesk.settings import SETTINGS_SCHEMA
from connector.platforms.pacing import PacedApi

log = logging.getLogger(__name__)
PER_PAGE = 100
MAX_PAGES = 50  # 5,000 conversations
MAX_REMEMBERED = 1000  # tickets whose state as last read the write-back compares against


class FreshdeskAdapter(Adapter):
    """Freshdesk: "Trigger webhook" automation rules, cf_* fields, fr_due_by/due_by, tags."""

    name = reading.PLATFORM
    title = "Freshdesk"
    docs_url = "https://support.freshdesk.com/support/solutions/articles/132589-using-webhooks-in-automation-rules"
    authentication = (
        "shared secret in a custom header of the automation rule (X-Connector-Token), compared in"
        " constant time; Freshdesk signs nothing"
    )
    replay_window = None
    signs_body = False  # the header secret proves the sender, not the body
    settings_schema = SETTINGS_SCHEMA
    sleep: Callable[[float], None] = staticmethod(time.sleep)
    clock: Callable[[], float] = staticmethod(time.monotonic)

    def __init__(self, settings: PlatformSettings, client: PlatformClient | None = None) -> None:
        super().__init__(settings, client)
        self._read: dict[str, Mapping[str, Any]] = {}  # ticket id -> the ticket as last read
        self._paced_api: PacedApi | None = None
        self._lock = threading.Lock()  # workers share the adapter

    @classmethod
    def client_for(cls, settings: PlatformSettings) -> PlatformClient:
        """A client for https://<domain>.freshdesk.com with Basic `<API key>:X`."""
        return PlatformClient(settings.base_url, auth=(required(settings, "api_key")["api_key"], "X"))

    @property
    def token_header(self) -> str:
        """The custom header the automation rules carry the secret in."""
        return str(self.settings.options.get("token_header") or installing.DEFAULT_TOKEN_HEADER)

    # -- receiving ---------------------------------------------------------------------------

    def verify(self, delivery: Delivery, secret: str, now: datetime) -> None:
        """The custom header must hold the configured secret (constant-time); no secret, no entry."""
        if not secret:
            raise Unauthorized("no Freshdesk webhook secret is configured")
        offered = delivery.header(self.token_header)
        if not offered:
            raise Unauthorized(f"missing {self.token_header} header (add it to the rule's Trigger webhook action)")
        if not hmac.compare_digest(offered.strip().encode("utf-8"), secret.encode("utf-8")):
            raise Unauthorized(f"the {self.token_header} header holds the wrong secret")

    def sign(self, body: bytes, secret: str, now: datetime, delivery_id: str) -> tuple[dict[str, str], str | None]:
        """Freshdesk cannot sign: its rules send the secret in the custom header."""
        return {self.token_header: secret}, None

    def parse(self, delivery: Delivery, payload: Any) -> TicketEvent:
        """The ticket a rule's body names; Freshdesk sends no delivery id, so the body's hash is one."""
        return TicketEvent(
            self.name, reading.ticket_id(payload["ticket"]["id"]), str(payload["event"]), delivery.content_hash, None
        )

    def sample_body(self, ticket_id: str, now: datetime) -> bytes:
        """Rule 1's body as Freshdesk renders it, for the ticket `ticket_id`."""
        number = int(reading.ticket_id(ticket_id))
        return json.dumps(
            {
                "event": "ticket_created",
                "ticket": {
                    "id": number,
                    "subject": "connector test event",
                    "status": "Open",
                    "priority": "Low",
                    "source": "Portal",
                    "type": "",
                    "requester_email": "",
                    "company_name": "",
                    "agent_email": "",
                    "group_name": "",
                    "tags": "",
                    "product": "",
                    "url": "",
                },
            },
            indent=2,
        ).encode()

    # -- reading -----------------------------------------------------------------------------

    def fetch_ticket(self, ticket_id: str) -> Ticket:
        """The ticket now: fields, requester, company, current status, conversations."""
        number = reading.ticket_id(ticket_id)
        api = self.api()
        doc = api.call("GET", f"/api/v2/tickets/{number}?include=requester,company,stats") or {}
        conversations = self._conversations(api, number)
        responder = doc.get("responder_id")
        agents = {responder} if isinstance(responder, int) else set()
        for user in reading.outgoing_authors(conversations, doc.get("requester_id")):
            if user not in agents and self._agent(api, user) is not None:
                agents.add(user)
        assignee = None
        if isinstance(responder, int):
            agent = self._agent(api, responder) or {}
            assignee = (reading.text((agent.get("contact") or {}).get("email")) or "").lower() or None
        ticket = reading.to_ticket(
            doc, conversations, agents, assignee, self.settings.fields, self.settings.tag_prefix, self.settings.options
        )
        with self._lock:  # the latest read last: the oldest goes first
            self._read.pop(number, None)
            if len(self._read) >= MAX_REMEMBERED:
                self._read.pop(next(iter(self._read)))
            self._read[number] = doc
        return ticket

    def _conversations(self, api: PlatformClient, number: str) -> list[Mapping[str, Any]]:
        """Every conversation of the ticket (pages of 100)."""
        found: list[Mapping[str, Any]] = []
        for page in range(1, MAX_PAGES + 1):
            query = urlencode({"page": page, "per_page": PER_PAGE})
            items = api.call("GET", f"/api/v2/tickets/{number}/conversations?{query}") or []
            found += items
            if len(items) < PER_PAGE:
                return found
        log.warning("freshdesk: ticket %s has over %d conversations; read the first", number, len(found))
        return found

    def _agent(self, api: PlatformClient, user_id: int) -> Mapping[str, Any] | None:
        """The agent with this user id; None when the user is not an agent (404)."""
        try:
            return api.call("GET", f"/api/v2/agents/{int(user_id)}") or {}
        except PlatformRejected as exc:
            if exc.status == 404:
                return None
            raise

    # -- writing -----------------------------------------------------------------------------

    def write_back(self, ticket: Ticket, plan: WriteBack) -> bool:
        """One ticket update with what changed (and Freshdesk's own due dates where it allows
        them), then the private note. The update goes first: if the note then fails, a retry finds
        the tier set and writes no second note."""
        if not plan.needed:
            return False
        number = reading.ticket_id(ticket.id)
        with self._lock:
            current = self._read.get(number)
        if current is None:  # `tags` replaces the whole list: never write one not just read
            current = self.api().call("GET", f"/api/v2/tickets/{number}") or {}
        responder = None
        if "assignee" in plan.changed and plan.desired.assignee:
            responder = self._engineer(plan.desired.assignee)
        body = writing.update_body(
            ticket, plan, self.settings.fields, self.settings.tag_prefix, self.settings.options, current, responder
        )
        if body:
            self.api().call("PUT", f"/api/v2/tickets/{number}", body)
        if plan.note:
            self.api().call("POST", f"/api/v2/tickets/{number}/notes", writing.note_body(plan.note), expect=(200, 201))
        return bool(body or plan.note)

    def _engineer(self, email: str) -> int | None:
        """The agent id (= responder_id) of the dedicated engineer's e-mail."""
        found = self.api().call("GET", f"/api/v2/agents?{urlencode({'email': email.strip().lower()})}") or []
        agent = next((a for a in found if isinstance(a.get("id"), int)), None)
        if agent is None:
            log.warning("freshdesk: no agent has the e-mail %s; the dedicated engineer is not assigned", email)
            return None
        return int(agent["id"])

    # -- KB access, portal registration, alerts ----------------------------------------------

    def _access(self) -> FreshdeskAccess:
        """The levers over the paced API (built once: it keeps the pacing between calls)."""
        if self._paced_api is None:
            self._paced_api = PacedApi(
                self.api(), self.settings.options.get("api_requests_per_minute"), self.sleep, self.clock
            )
        return FreshdeskAccess(self._paced_api, self.settings.options)

    @property
    def supports(self) -> frozenset[str]:
        """Alerts and portal registration always; the KB lever once options.kb_folder_ids names
        the closed folders."""
        caps = super().supports
        return caps if self.settings.options.get("kb_folder_ids") else caps - {"kb"}

    def kb_holders(self) -> set[str]:
        """E-mails of the contacts of the companies the closed folders list."""
        return self._access().holders()

    def apply_access(self, changes: Sequence[AccessChange]) -> Iterator[AccessOutcome]:
        """Put companies into / take them out of the closed folders' company lists."""
        return self._access().apply(changes)

    def register_portal_user(
        self, email: str, name: str | None, customer_id: str, customer_name: str, org_id: str | None
    ) -> str | None:
        """A contact of the customer's company (None: already one)."""
        return self._access().register(email, name, customer_name, org_id)

    def alert(self, alert: Alert) -> bool:
        """Tags and the priority on the ticket, then a private note."""
        return self._access().alert(alert)

    # -- installing --------------------------------------------------------------------------

    def install(self, webhook_url: str, apply: bool) -> list[str]:
        """The three automation rules to create (Freshdesk's API cannot create them); with
        `apply`, what the API says of the configured custom fields first."""
        checked = None
        if apply:
            checked = (
                installing.field_report(self.api(), self.settings.fields)
                if self.settings.credentials.get("api_key")
                else ["Set credentials.api_key to have --apply check the custom fields."]
            )
        return installing.admin_steps(webhook_url, self.settings.base_url, self.settings.options, apply, checked)
