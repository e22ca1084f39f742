"""The Redmine 5 adapter: Standard Webhooks from the plugin we ship (webhooks/redmine/) in, the
REST API (an administrator's API key) out.

The plugin POSTs `{"type": "issue.created"|"issue.updated", "timestamp", "data": {"issue",
"project", "journal", "user"}}` after each new issue and each new journal, signed per Standard
Webhooks; `webhook-id` (`redmine-issue-<id>-created`, `redmine-journal-<id>`) is the delivery id.
It sends nothing for the connector's own changes, so the write-back cannot loop.
`fetch_ticket` reads `GET /issues/N.json?include=journals` and the users it names
(reading.py); `write_back` is one `PUT /issues/N.json` read back afterwards (writing.py); the KB
group, portal users and SLA alerts are in access.py, the install checks in install.py.
Docs: https://www.redmine.org/projects/redmine/wiki/Rest_api (Issues, Users, Groups, Memberships).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from connector.config.settings import PlatformSettings
from connector.core.errors import BadInput, PlatformRejected
from connector.core.events import Delivery, TicketEvent
from connector.core.kb_access import AccessChange
from connector.core.ticket import Ticket, WriteBack
from connector.platforms import standard_webhooks
from connector.platforms.base import AccessOutcome, Adapter, Alert
from connector.platforms.client import PlatformClient
from connector.platforms.redmine import access, api, reading, writing
from connector.platforms.redmine import install as installing
from connector.platforms.redmine.options import (
    PLATFORM,
    READ,
    SETTINGS_SCHEMA,
    WHERE,
    WRITTEN,
    field_ids,
    plugin_can_sign,
    zone,
)

log = logging.getLogger(__name__)


class RedmineAdapter(Adapter):
    """Redmine 5: the connector_webhooks plugin's Standard Webhooks, `due_date` and custom fields."""

    name = PLATFORM
    title = "Redmine 5"
    docs_url = "https://www.redmine.org/projects/redmine/wiki/Rest_api"
    authentication = standard_webhooks.AUTHENTICATION + " (the connector_webhooks plugin we ship)"
    replay_window = standard_webhooks.TOLERANCE
    settings_schema = SETTINGS_SCHEMA

    def __init__(self, settings: PlatformSettings, client: PlatformClient | None = None) -> None:
        super().__init__(settings, client)
        self.zone = zone(settings.options)  # a wrong zone is a start-up error naming its key

    @classmethod
    def check_settings(cls, settings: PlatformSettings) -> Sequence[str]:
        """What the schema cannot see: the zone exists, no two of our fields share a Redmine field,
        and the webhook secret is a `whsec_` one (the plugin signs with nothing else)."""
        problems = []
        try:
            zone(settings.options)
        except BadInput as exc:
            problems.append(str(exc))
        ids = field_ids(settings.fields, WRITTEN + READ)
        for fid in sorted({f for f in ids.values() if list(ids.values()).count(f) > 1}):
            problems.append(
                f"{WHERE}.fields: {', '.join(n for n, f in ids.items() if f == fid)} are all custom "
                f"field {fid}; each needs its own"
            )
        if settings.webhook_secret and not plugin_can_sign(settings.webhook_secret):
            problems.append(
                f"{WHERE}.webhook_secret: not a whsec_<base64> secret, which the plugin needs "
                '(e.g. echo "whsec_$(openssl rand -base64 32)")'
            )
        return problems

    @classmethod
    def client_for(cls, settings: PlatformSettings) -> PlatformClient:
        """A client sending the API key as `X-Redmine-API-Key` (its user must be an administrator)."""
        key = settings.credentials.get("api_key", "")
        if not settings.base_url or not key:
            raise BadInput("redmine needs base_url and credentials.api_key (or api_key_env / api_key_file)", WHERE)
        return PlatformClient(settings.base_url, headers={"X-Redmine-API-Key": key})

    # -- receiving ---------------------------------------------------------------------------

    def verify(self, delivery: Delivery, secret: str, now: datetime) -> None:
        """Standard Webhooks: a matching signature, a timestamp within 5 minutes of `now`."""
        standard_webhooks.check(secret, delivery, now)

    def parse(self, delivery: Delivery, payload: Any) -> TicketEvent:
        """The event of a schema-valid body; the delivery id is `webhook-id`."""
        return TicketEvent(
            PLATFORM,
            str(payload["data"]["issue"]),
            payload["type"],
            delivery.header(standard_webhooks.ID) or delivery.content_hash,
            reading.parse_moment(payload.get("timestamp")),
        )

    def sign(self, body: bytes, secret: str, now: datetime, delivery_id: str) -> tuple[dict[str, str], str | None]:
        """The Standard Webhooks headers the plugin puts on `body` at `now`."""
        return standard_webhooks.sign(secret, body, now, delivery_id), None

    def sample_body(self, ticket_id: str, now: datetime) -> bytes:
        """An `issue.created` event for issue `ticket_id`, as the plugin sends it (compact JSON)."""
        if not str(ticket_id).isdigit():
            raise BadInput(f"Redmine issue ids are numbers, not {ticket_id!r}")
        stamp = now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        data = {
            "issue": int(ticket_id),
            "project": self.settings.options.get("project") or "support",
            "journal": None,
            "user": None,
        }
        return json.dumps({"type": "issue.created", "timestamp": stamp, "data": data}, separators=(",", ":")).encode()

    # -- the API -----------------------------------------------------------------------------

    def fetch_ticket(self, ticket_id: str) -> reading.RedmineTicket:
        """The issue with its journals, and its author's, note writers' and assignee's accounts."""
        if not str(ticket_id).isdigit():
            raise BadInput(f"Redmine issue ids are numbers, not {ticket_id!r}")
        client = self.api()
        issue = (client.call("GET", f"/issues/{int(ticket_id)}.json?include=journals") or {}).get("issue")
        if not isinstance(issue, dict):
            raise PlatformRejected(f"GET /issues/{ticket_id}.json: no issue in the answer")
        missing = reading.missing_fields(issue, self.settings.fields)
        if missing:
            raise PlatformRejected(
                f"issue {ticket_id} (project {issue.get('project', {}).get('name')!r}, tracker "
                f"{issue.get('tracker', {}).get('name')!r}) has no custom field "
                f"{', '.join(missing)}: enable it for that project and tracker "
                "(`connector install redmine` checks them)"
            )
        users = api.users(client, reading.users_to_read(issue))
        return reading.to_ticket(issue, users, self.settings.fields, self.settings.options)

    def write_back(self, ticket: Ticket, plan: WriteBack) -> bool:
        """One PUT of what changed, then read back: anything Redmine did not store as sent is a
        `PlatformRejected` naming it (written parts stay written)."""
        if not plan.needed:
            return False
        if not isinstance(ticket, reading.RedmineTicket):  # the start date, journals and values as read
            ticket = self.fetch_ticket(ticket.id)
        client, problems = self.api(), []
        engineer = None
        if "assignee" in plan.changed and plan.desired.assignee:
            found = api.user_by_email(client, plan.desired.assignee)
            engineer = found.get("id") if found else None
            if engineer is None:
                problems.append(f"the dedicated engineer {plan.desired.assignee} has no Redmine user: not assigned")
        sent = writing.update(ticket, plan, self.settings.fields, self.zone, engineer)
        for warning in sent.warnings:
            log.warning("redmine issue %s: %s", ticket.id, warning)
        if not sent:
            if problems:
                raise PlatformRejected(f"issue {ticket.id}: " + "; ".join(problems))
            return False
        path = f"/issues/{int(ticket.id)}.json"
        try:
            api.write(client, "PUT", path, sent.body, f"the write-back of issue {ticket.id}")
        except PlatformRejected as exc:
            if "assigned_to_id" not in sent.issue:
                raise
            # the engineer cannot be assigned (not an assignable member): the rest still goes in
            problems.append(f"assigning the dedicated engineer {plan.desired.assignee} (user {engineer}): {exc}")
            del sent.issue["assigned_to_id"]
            api.write(client, "PUT", path, sent.body, f"the write-back of issue {ticket.id}")
        query = "?include=journals" if "notes" in sent.issue else ""
        after = (client.call("GET", f"{path}{query}") or {}).get("issue") or {}
        problems += writing.read_back_problems(after, sent, ticket.last_journal_id)
        if problems:
            raise PlatformRejected(
                f"issue {ticket.id}: the write-back does not read back as written: " + "; ".join(problems)
            )
        return True

    # -- KB access, portal registration, alerts ----------------------------------------------------

    @property
    def supports(self) -> frozenset[str]:
        """Alerts and portal registration always; KB access once `options.kb_group` names the group."""
        caps = super().supports
        return caps if self.settings.options.get("kb_group") else caps - {"kb"}

    def kb_holders(self) -> set[str]:
        """Lower-case e-mails of the KB group's members."""
        return set(access.members(self.api(), access.group_id(self.settings.options)))

    def apply_access(self, changes: Sequence[AccessChange]) -> Iterator[AccessOutcome]:
        """Add to / remove from the KB group (a grant creates the contact's user when there is none)."""
        return access.apply_access(self.api(), self.settings.options, changes)

    def register_portal_user(
        self, email: str, name: str | None, customer_id: str, customer_name: str, org_id: str | None
    ) -> str | None:
        """Make sure the contact has a Redmine user (Redmine has no organisations to put it in)."""
        return access.register_portal_user(self.api(), self.settings.options, email, name, customer_name)

    def alert(self, alert: Alert) -> bool:
        """A private note carrying the alert and its tags, and the priority (`priority_id`)."""
        return access.alert(self.api(), alert)

    # -- installing --------------------------------------------------------------------------

    def install(self, webhook_url: str, apply: bool) -> list[str]:
        """Check the Redmine against the settings (and fix what the API can with --apply); the
        plugin's settings to enter."""
        return installing.install(self.api(), self.settings, webhook_url, apply)
