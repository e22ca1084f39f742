"""The Jira Service Management (Cloud) adapter: signed admin webhooks in, Jira and JSM REST reads
and writes out.

Webhooks are notifications; the API is the truth. `fetch_ticket` reads the issue with its
changelog (`GET /rest/api/3/issue/{key}?expand=changelog`, and the paged changelog when that one
is cut short), its comments (`jsdPublic`), and, only for comment authors the comment itself does
not place, the request's participants and those users' licences; the requester's e-mail (from
the issue, else the JSM request) and organisation (`GET /rest/servicedeskapi/organization?accountId=`,
which needs an agent licence). Authentication: Basic `<account e-mail>:<API token>`,
https://developer.atlassian.com/cloud/jira/platform/basic-auth-for-rest-apis/. Rate limits: a 429
carries Retry-After (and X-RateLimit-Reset), https://developer.atlassian.com/cloud/jira/platform/rate-limiting/;
the client turns it (or, without Retry-After, X-RateLimit-Reset) into a retry at exactly that time.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from connector.config.settings import PlatformSettings
from connector.core.events import Delivery, TicketEvent
from connector.core.kb_access import AccessChange
from connector.core.ticket import Author, Ticket, WriteBack
from connector.platforms.base import AccessOutcome, Adapter, Alert, required
from connector.platforms.client import PlatformClient
from connector.platforms.jira_service_management import install as installing
from connector.platforms.jira_service_management import reading, signature, writing
from connector.platforms.jira_service_management.access import JsmAccess
from connector.platforms.jira_service_management.client import JiraClient
from connector.platforms.jira_service_management.settings import SETTINGS_SCHEMA
from connector.platforms.pacing import PacedApi

log = logging.getLogger(__name__)
PAGE = 100
MAX_PAGES = 50  # 5,000 comments or changelog entries
MAX_REMEMBERED = 1000  # issues whose fields as last read the write-back compares against


class JiraServiceManagementAdapter(Adapter):
    """JSM Cloud: admin webhooks signed with X-Hub-Signature, Date Time custom fields, labels."""

    name = reading.PLATFORM
    title = "Jira Service Management"
    docs_url = "https://developer.atlassian.com/cloud/jira/platform/webhooks/"
    authentication = (
        "X-Hub-Signature: sha256=hex(HMAC-SHA256(admin webhook secret, raw body)); no timestamp"
        " is signed, retries are recognised by X-Atlassian-Webhook-Identifier"
    )
    replay_window = None  # Jira signs no timestamp
    settings_schema = SETTINGS_SCHEMA
    sleep: Callable[[float], None] = staticmethod(time.sleep)
    clock: Callable[[], float] = staticmethod(time.monotonic)

    def __init__(self, settings: PlatformSettings, client: PlatformClient | None = None) -> None:
        super().__init__(settings, client)
        self._read: dict[str, Mapping[str, Any]] = {}  # issue key -> its fields as last read
        self._paced_api: PacedApi | None = None
        self._lock = threading.Lock()  # workers share the adapter

    @classmethod
    def client_for(cls, settings: PlatformSettings) -> PlatformClient:
        """A client for https://<site>.atlassian.net with Basic `<e-mail>:<API token>`."""
        creds = required(settings, "email", "api_token")
        email, token = creds["email"], creds["api_token"]
        # servicedeskapi marks some endpoints (a service desk's customers) experimental: they
        # need this opt-in header; the other endpoints ignore it
        return JiraClient(settings.base_url, headers={"X-ExperimentalApi": "opt-in"}, auth=(email, token))

    # -- receiving ---------------------------------------------------------------------------

    def verify(self, delivery: Delivery, secret: str, now: datetime) -> None:
        """The HMAC of the raw body, in constant time; no secret, no entry."""
        signature.check(secret, delivery.header(signature.SIGNATURE_HEADER), delivery.body)

    def sign(self, body: bytes, secret: str, now: datetime, delivery_id: str) -> tuple[dict[str, str], str | None]:
        """The headers Jira puts on a delivery of `body`."""
        return {
            "X-Hub-Signature": signature.sign(secret, body),
            "X-Atlassian-Webhook-Identifier": delivery_id,
            "X-Atlassian-Webhook-Flow": "Primary",
        }, None

    def parse(self, delivery: Delivery, payload: Any) -> TicketEvent:
        """The issue a schema-valid delivery is about; retries share the webhook identifier."""
        key = reading.issue_key((payload.get("issue") or {}).get("key"))
        stamp = payload.get("timestamp")
        occurred = datetime.fromtimestamp(stamp / 1000, tz=UTC) if isinstance(stamp, int) else None
        return TicketEvent(
            self.name,
            key,
            str(payload["webhookEvent"]).removeprefix("jira:"),
            delivery.header(signature.IDENTIFIER_HEADER) or delivery.content_hash,
            occurred,
        )

    def sample_body(self, ticket_id: str, now: datetime) -> bytes:
        """A `jira:issue_created` delivery for the issue `ticket_id` (a key like SUP-123)."""
        key = reading.issue_key(ticket_id)
        stamp = now.astimezone(UTC)
        created = stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}+0000"
        return json.dumps(
            {
                "timestamp": int(stamp.timestamp() * 1000),
                "webhookEvent": "jira:issue_created",
                "issue_event_type_name": "issue_created",
                "user": {
                    "accountId": "connector-test",
                    "displayName": "connector send-test-event",
                    "accountType": "atlassian",
                    "active": True,
                },
                "issue": {
                    "id": "0",
                    "key": key,
                    "fields": {"created": created, "updated": created, "summary": "connector test event"},
                },
            }
        ).encode()

    # -- reading -----------------------------------------------------------------------------

    def fetch_ticket(self, ticket_id: str) -> Ticket:
        """The issue now: fields, status history, comments with their authors' roles, requester."""
        key = reading.issue_key(ticket_id)
        api = self.api()
        issue = api.call("GET", f"/rest/api/3/issue/{key}?expand=changelog") or {}
        fields = issue.get("fields") or {}
        reporter = fields.get("reporter") or {}
        comments = self._comments(api, key)
        roles = self._roles(api, key, comments, reporter.get("accountId"))
        email = reading.text(reporter.get("emailAddress"))
        if email is None:  # hidden by the reporter's profile visibility: JSM shows it to agents
            request = api.call("GET", f"/rest/servicedeskapi/request/{key}") or {}
            email = reading.text((request.get("reporter") or {}).get("emailAddress"))
        ticket = reading.to_ticket(
            issue,
            self._histories(api, key, issue),
            comments,
            roles,
            email,
            self._organisation(api, reporter.get("accountId")),
            self.settings.fields,
            self.settings.tag_prefix,
            self.settings.options,
        )
        with self._lock:  # the latest read last: the oldest goes first
            self._read.pop(key, None)
            if len(self._read) >= MAX_REMEMBERED:
                self._read.pop(next(iter(self._read)))
            self._read[key] = fields
        return ticket

    def _histories(self, api: PlatformClient, key: str, issue: Mapping[str, Any]) -> list[Mapping[str, Any]]:
        """The whole changelog: the expanded one when complete, else every page of the paged one."""
        changelog = issue.get("changelog") or {}
        histories = list(changelog.get("histories") or [])
        if int(changelog.get("total") or 0) <= len(histories):
            return histories
        histories, start = [], 0
        for _ in range(MAX_PAGES):
            page = (
                api.call(
                    "GET", f"/rest/api/3/issue/{key}/changelog?{urlencode({'startAt': start, 'maxResults': PAGE})}"
                )
                or {}
            )
            values = list(page.get("values") or [])
            histories += values
            start += len(values)
            if page.get("isLast", True) or not values:
                return histories
        log.warning("jira-service-management: %s has over %d changelog entries; read the first", key, start)
        return histories

    def _comments(self, api: PlatformClient, key: str) -> list[Mapping[str, Any]]:
        """Every comment of the issue (pages of 100)."""
        found: list[Mapping[str, Any]] = []
        for _ in range(MAX_PAGES):
            page = (
                api.call(
                    "GET", f"/rest/api/3/issue/{key}/comment?{urlencode({'startAt': len(found), 'maxResults': PAGE})}"
                )
                or {}
            )
            values = list(page.get("comments") or [])
            found += values
            if not values or len(found) >= int(page.get("total") or 0):
                return found
        log.warning("jira-service-management: %s has over %d comments; read the first", key, len(found))
        return found

    def _roles(
        self, api: PlatformClient, key: str, comments: Sequence[Mapping[str, Any]], reporter_id: Any
    ) -> dict[str, Author]:
        """Roles of the authors the comments do not place: request participants are the customer's
        side; of the others, licensed users are agents (a customer may have an Atlassian account)."""
        unknown = reading.unclassified_authors(comments, reporter_id)
        if not unknown:
            return {}
        roles: dict[str, Author] = {}
        page = api.call("GET", f"/rest/servicedeskapi/request/{key}/participant") or {}
        participants = {p.get("accountId") for p in page.get("values") or []}
        for account in unknown:
            if account in participants:
                roles[account] = Author.END_USER
                continue
            user = api.call("GET", f"/rest/api/3/user?{urlencode({'accountId': account})}") or {}
            roles[account] = Author.AGENT if reading.is_licensed(user) else Author.END_USER
        return roles

    def _organisation(self, api: PlatformClient, account_id: Any) -> str | None:
        """The reporter's JSM organisation (the one with the lowest id when there are several)."""
        if not account_id:
            return None
        page = api.call("GET", f"/rest/servicedeskapi/organization?{urlencode({'accountId': account_id})}") or {}
        ids = sorted((str(o.get("id")) for o in page.get("values") or [] if str(o.get("id") or "").isdigit()), key=int)
        return ids[0] if ids else None

    # -- writing -----------------------------------------------------------------------------

    def write_back(self, ticket: Ticket, plan: WriteBack) -> bool:
        """One edit of the changed fields, then the internal note; nothing when nothing changed.
        The edit goes first: if the note then fails, a retry finds the tier set and writes no
        second note (a lost note rather than two)."""
        if not plan.needed:
            return False
        key = reading.issue_key(ticket.id)
        with self._lock:
            current = self._read.get(key) or {}
        engineer = None
        if "assignee" in plan.changed and plan.desired.assignee:
            # the worker retries the event itself: this lookup is not paced or patient
            found = JsmAccess(self.api(), self.settings.options).account(plan.desired.assignee.strip().lower())
            engineer = str(found["accountId"]) if found else None
            if engineer is None:
                log.warning(
                    "jira-service-management: no Jira account for engineer %s; %s not assigned",
                    plan.desired.assignee,
                    key,
                )
        body = writing.edit_body(
            ticket, plan, self.settings.fields, self.settings.tag_prefix, self.settings.options, current, engineer
        )
        if body:
            self.api().call("PUT", f"/rest/api/3/issue/{key}", body, expect=(200, 204))
        if plan.note:
            self.api().call(
                "POST", f"/rest/servicedeskapi/request/{key}/comment", writing.note_body(plan.note), expect=(200, 201)
            )
        return bool(body or plan.note)

    # -- KB access, portal registration, alerts ----------------------------------------------

    def _access(self) -> JsmAccess:
        """The levers over the paced API (built once: it keeps the pacing between calls)."""
        if self._paced_api is None:
            self._paced_api = PacedApi(
                self.api(), self.settings.options.get("api_requests_per_minute"), self.sleep, self.clock
            )
        return JsmAccess(self._paced_api, self.settings.options)

    @property
    def supports(self) -> frozenset[str]:
        """Alerts always; the KB lever with options.kb_group_id; portal registration with
        options.service_desk_id (without them every warranty requester's event would fail)."""
        caps = set(super().supports)
        if not self.settings.options.get("kb_group_id"):
            caps.discard("kb")
        if not self.settings.options.get("service_desk_id"):
            caps.discard("portal")
        return frozenset(caps)

    def kb_holders(self) -> set[str]:
        """Lower-case e-mails of the closed-KB group's members."""
        return self._access().holders()

    def apply_access(self, changes: Sequence[AccessChange]) -> Iterator[AccessOutcome]:
        """Add to / remove from the closed-KB group, one account at a time."""
        return self._access().apply(changes)

    def register_portal_user(
        self, email: str, name: str | None, customer_id: str, customer_name: str, org_id: str | None
    ) -> str | None:
        """A customer of the service desk, in the customer's organisation (None: already)."""
        return self._access().register(email, name, customer_id, customer_name, org_id)

    def alert(self, alert: Alert) -> bool:
        """Labels and the priority, then an internal comment."""
        return self._access().alert(alert)

    # -- installing --------------------------------------------------------------------------

    def install(self, webhook_url: str, apply: bool) -> list[str]:
        """Check the fields and create the admin webhook through the REST API (`--apply`), or list
        the clicks."""
        if not apply:
            return installing.admin_steps(webhook_url, self.settings.base_url, self.settings.options)
        return installing.apply(
            self.api(),
            webhook_url,
            self.settings.webhook_secret,
            self.settings.options,
            f"platforms.{self.settings.name}",
            self.settings.fields,
        )
