"""The django-helpdesk (2.6, PyPI) adapter: its built-in webhooks in, its REST API out.

django-helpdesk POSTs `{"ticket": <TicketSerializer>, "queue_slug"}` for a new ticket and the same
plus `"followup_id"` for a new follow-up, unsigned and without an id, synchronously from the request
that made the change (3 s timeout; a refused connection makes that request answer 500, although
the change is saved). A PATCH through the API sends nothing. So the URL carries a secret token
(`?token=`), and the content hash is the delivery id.

The closed knowledge base, portal users and SLA alerts are in `access.py` (the KB lever needs our
small Django app, webhooks/django-helpdesk/connector_access, installed in the helpdesk).
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from connector.config.settings import PlatformSettings
from connector.core.errors import BadInput, PlatformRejected, Unauthorized
from connector.core.events import Delivery, TicketEvent
from connector.core.kb_access import AccessChange
from connector.core.ticket import Ticket, WriteBack
from connector.platforms.base import AccessOutcome, Adapter, Alert
from connector.platforms.client import PlatformClient
from connector.platforms.django_helpdesk import access
from connector.platforms.django_helpdesk.reading import PLATFORM, missing_fields, moment, to_ticket
from connector.platforms.django_helpdesk.writing import note_body, patch_body

FIELD_NAME = {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]*$"}
SETTINGS_SCHEMA = {
    "type": "object",
    "properties": {
        "credentials": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "token": {"type": "string", "description": "DRF token of a staff user"},
                "username": {"type": "string"},
                "password": {"type": "string"},
            },
        },
        "fields": {
            "type": "object",
            "additionalProperties": False,
            "description": "our field -> the helpdesk's custom field name",
            "properties": {
                name: FIELD_NAME
                for name in (
                    "tier",
                    "first_response_due",
                    "resolution_due",
                    "flags",
                    "product",
                    "request_type",
                    "topic",
                    "channel",
                )
            },
        },
        "options": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "statuses": {
                    "type": "object",
                    "propertyNames": {"pattern": "^[0-9]+$"},
                    "additionalProperties": {"enum": ["new", "open", "pending", "hold", "solved", "closed"]},
                    "description": "status code -> common status (e.g. an added waiting status: pending)",
                },
                "user_ids": {
                    "type": "object",
                    "additionalProperties": {"type": "integer"},
                    "description": "engineer e-mail -> helpdesk user id (its API cannot look users up)",
                },
                "kb_group": {
                    "type": "string",
                    "minLength": 1,
                    "description": "the closed-KB readers' group (turns KB access and portal users on)",
                },
                "access_path": {"type": "string", "pattern": "^/[^?#]*$", "default": "/connector"},
                "kb_batch": {"type": "integer", "minimum": 1, "maximum": 100, "default": 100},
            },
        },
    },
}


class DjangoHelpdeskAdapter(Adapter):
    """django-helpdesk: webhooks from HELPDESK_GET_*_WEBHOOK_URLS, `due_date` and `custom_*` fields."""

    name = PLATFORM
    title = "django-helpdesk"
    docs_url = "https://django-helpdesk.readthedocs.io/"
    authentication = "secret token in the webhook URL (?token=), compared in constant time"
    settings_schema = SETTINGS_SCHEMA
    signs_body = False

    def __init__(self, settings: PlatformSettings, client: PlatformClient | None = None) -> None:
        super().__init__(settings, client)
        self._custom_fields: frozenset[str] = frozenset()  # names seen on the last read

    @classmethod
    def client_for(cls, settings: PlatformSettings) -> PlatformClient:
        """An API client: DRF token auth (`credentials.token`, needs rest_framework.authtoken)
        or basic auth (`credentials.username` + `password`); the user must be staff."""
        creds = settings.credentials
        if not settings.base_url:
            raise BadInput("django-helpdesk has no base_url configured", f"platforms.{settings.name}.base_url")
        if creds.get("token"):
            return PlatformClient(settings.base_url, headers={"Authorization": f"Token {creds['token']}"})
        if creds.get("username") and creds.get("password"):
            return PlatformClient(settings.base_url, auth=(creds["username"], creds["password"]))
        raise BadInput(
            "django-helpdesk needs credentials.token (or token_env / token_file), or credentials.username"
            " and credentials.password (each also as _env / _file)",
            f"platforms.{settings.name}.credentials",
        )

    def verify(self, delivery: Delivery, secret: str, now: datetime) -> None:
        """The URL's token must equal the configured secret; no secret means no entry."""
        if not secret:
            raise Unauthorized("no webhook secret is configured for django-helpdesk")
        if not delivery.token:
            raise Unauthorized("the webhook URL has no ?token=")
        if not hmac.compare_digest(delivery.token.encode("utf-8"), secret.encode("utf-8")):
            raise Unauthorized("the webhook URL's token is wrong")

    def parse(self, delivery: Delivery, payload: Any) -> TicketEvent:
        """A new follow-up (the body names `followup_id`) or a new ticket."""
        try:
            ticket = payload["ticket"]
            ticket_id = ticket["id"]
        except (KeyError, TypeError):
            raise BadInput("the body names no ticket (ticket.id)") from None
        followups = {f.get("id"): f for f in ticket.get("followup_set") or [] if isinstance(f, dict)}
        if "followup_id" in payload:
            kind, followup = "followup.created", followups.get(payload["followup_id"])
        else:
            kind, followup = "ticket.created", min(followups.values(), key=lambda f: f.get("date", ""), default=None)
        try:
            occurred_at = moment(followup.get("date"), "follow-up date") if followup else None
        except PlatformRejected:  # an unreadable date does not make the notification useless
            occurred_at = None
        return TicketEvent(PLATFORM, str(ticket_id), kind, delivery.content_hash, occurred_at)

    def fetch_ticket(self, ticket_id: str) -> Ticket:
        """`GET /api/tickets/<id>/` (its follow-ups included) as a domain ticket."""
        doc = self.api().call("GET", f"/api/tickets/{int(ticket_id)}/")
        missing = missing_fields(doc, self.settings.fields)
        if missing:
            raise PlatformRejected(
                f"django-helpdesk has no custom field {', '.join(missing)}: create it "
                "(see webhooks/django-helpdesk/README.md)"
            )
        self._custom_fields = frozenset(k.removeprefix("custom_") for k in doc if k.startswith("custom_"))
        return to_ticket(doc, self.settings.fields, self.settings.options)

    def write_back(self, ticket: Ticket, plan: WriteBack) -> bool:
        """One PATCH of the changed fields, then the note as a private follow-up; nothing in dry run.
        The PATCH goes first: if the note then fails, a retry finds the tier set and writes no
        second note (a lost note rather than two)."""
        if not plan.needed:
            return False
        body = patch_body(plan.desired, plan.changed, self.settings.fields, self.settings.options, self._custom_fields)
        if body:
            self.api().call("PATCH", f"/api/tickets/{int(ticket.id)}/", body)
        if plan.note:
            self.api().call("POST", "/api/followups/", note_body(ticket, plan.note))
        return bool(body or plan.note)

    @property
    def supports(self) -> frozenset[str]:
        """Alerts always; KB access and portal registration once `options.kb_group` says the
        connector_access app is installed (else every warranty requester's event would fail)."""
        caps = super().supports
        return caps if access.enabled(self.settings.options) else caps - {"kb", "portal"}

    def kb_holders(self) -> set[str]:
        """The members of the closed-KB group (connector_access app), as lower-case e-mails."""
        return access.kb_holders(self.api(), self.settings.options)

    def apply_access(self, changes: Sequence[AccessChange]) -> Iterator[AccessOutcome]:
        """Add to / remove from the closed-KB group, in batches of up to 100 (a grant creates the
        account when there is none: user name = e-mail, no usable password)."""
        return access.apply_access(self.api(), self.settings.options, changes)

    def register_portal_user(
        self, email: str, name: str | None, customer_id: str, customer_name: str, org_id: str | None
    ) -> str | None:
        """Make sure the person has an account; django-helpdesk has no organisations to put it in."""
        return access.register_portal_user(self.api(), self.settings.options, email, name, customer_name)

    def alert(self, alert: Alert) -> bool:
        """A priority change (1..5, or a name) and a private follow-up carrying the note and tags."""
        return access.alert(self.api(), alert)

    def sign(self, body: bytes, secret: str, now: datetime, delivery_id: str) -> tuple[dict[str, str], str | None]:
        """django-helpdesk cannot sign: its deliveries carry the secret as the URL's token."""
        return {}, secret or None

    def sample_body(self, ticket_id: str, now: datetime) -> bytes:
        """A new-ticket delivery shaped as django-helpdesk sends one (requests' `json=`); the
        processor then reads the real ticket `ticket_id` from the API."""
        date = now.astimezone(UTC).isoformat().replace("+00:00", "Z")
        opening = {
            "id": 1,
            "ticket": int(ticket_id),
            "user": None,
            "title": "Ticket Opened",
            "comment": "test event",
            "public": True,
            "new_status": None,
            "date": date,
            "message_id": None,
        }
        ticket = {
            "id": int(ticket_id),
            "queue": 1,
            "title": "connector test event",
            "status": 1,
            "submitter_email": None,
            "due_date": None,
            "followup_set": [opening],
        }
        return json.dumps({"ticket": ticket, "queue_slug": "test"}).encode("utf-8")

    def install(self, webhook_url: str, apply: bool) -> list[str]:
        """django-helpdesk has no API for its webhooks: the settings an admin adds (secret elided)."""
        url = webhook_url if "token=" in webhook_url else f"{webhook_url}?token=<webhook secret>"
        return [
            "django-helpdesk is set up in its Django settings, not over its API; add (see "
            "webhooks/django-helpdesk/settings.py and README.md for the custom fields and the API user):",
            f"    def HELPDESK_GET_NEW_TICKET_WEBHOOK_URLS(): return [{url!r}]",
            f"    def HELPDESK_GET_FOLLOWUP_WEBHOOK_URLS(): return [{url!r}]",
            "For the closed knowledge base and portal accounts, install the connector_access app and run "
            "`manage.py connector_access_setup` (webhooks/django-helpdesk/README.md, section 5).",
        ]
