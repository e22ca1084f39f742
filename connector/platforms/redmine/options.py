"""The Redmine adapter's settings: their JSON Schema (checked when the config loads) and the
readers of its options, each with its default and a `BadInput` naming the key it came from.

Statuses: Redmine's are per installation. The defaults are the stock default data's ids, the
same in every language (`Redmine::DefaultData::Loader` creates them in this order): 1 New,
2 In Progress, 3 Resolved, 4 Feedback, 5 Closed, 6 Rejected. Feedback waits on the customer
(the resolution clock pauses); Resolved is not closed in Redmine, so it is mapped explicitly.
`options.statuses` maps other ids; `connector install redmine` prints the installation's
statuses with what each maps to.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from datetime import tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from connector.core.errors import BadInput
from connector.core.ticket import TicketStatus

PLATFORM = "redmine"
WHERE = f"platforms.{PLATFORM}"
WRITTEN = ("tier", "first_response_due", "resolution_due", "flags")
READ = ("product", "request_type", "topic", "channel")
DEFAULT_STATUSES = {
    1: TicketStatus.NEW,
    2: TicketStatus.OPEN,
    3: TicketStatus.SOLVED,
    4: TicketStatus.PENDING,
    5: TicketStatus.CLOSED,
    6: TicketStatus.CLOSED,
}
STOCK_STATUS_NAMES = {1: "New", 2: "In Progress", 3: "Resolved", 4: "Feedback", 5: "Closed", 6: "Rejected"}
DEFAULT_STAFF_ROLES = ("Manager", "Developer")
DEFAULT_ZONE = "Europe/Moscow"
DEFAULT_CONNECTOR_LOGIN = "connector"
DEFAULT_KB_ROLE = "KB reader"
DEFAULT_PORTAL_ROLE = "Reporter"

FIELD_ID = {"type": ["integer", "string"], "pattern": "^[0-9]+$", "minimum": 1}
ROLE = {"type": ["string", "integer"], "minLength": 1, "minimum": 1}
IDENTIFIER = {"type": "string", "pattern": "^[a-z][a-z0-9_-]{0,99}$"}
SETTINGS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["credentials", "fields"],
    "properties": {
        "credentials": {
            "type": "object",
            "additionalProperties": False,
            "required": ["api_key"],
            "properties": {
                "api_key": {
                    "type": "string",
                    "description": "API key of the connector's Redmine user, an "
                    "administrator (My account > API access key), sent as X-Redmine-API-Key",
                }
            },
        },
        "fields": {
            "type": "object",
            "additionalProperties": False,
            "required": list(WRITTEN),
            "description": "our field -> the id of a Redmine issue custom field (Administration > "
            "Custom fields: the number in the field's address)",
            "properties": {
                "tier": {**FIELD_ID, "description": "text; the connector writes the tier code"},
                "first_response_due": {**FIELD_ID, "description": "text; ISO 8601 date-time"},
                "resolution_due": {
                    **FIELD_ID,
                    "description": "text; ISO 8601 date-time, empty when "
                    "not regulated (its day also goes into due_date)",
                },
                "flags": {**FIELD_ID, "description": "text; flag codes, comma separated"},
                "product": {**FIELD_ID, "description": "read: the product code of the registry"},
                "request_type": {**FIELD_ID, "description": "read: error, information or proposal"},
                "topic": {**FIELD_ID, "description": "read: installation, functionality or other"},
                "channel": {
                    **FIELD_ID,
                    "description": "read: how the customer asked (email, phone, portal, office, messenger, remote)",
                },
            },
        },
        "options": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "statuses": {
                    "type": "object",
                    "propertyNames": {"pattern": "^[0-9]+$"},
                    "additionalProperties": {"enum": [s.value for s in TicketStatus]},
                    "description": "Redmine status id -> common status, over the stock defaults "
                    "(1 new, 2 open, 3 solved, 4 pending, 5 closed, 6 closed)",
                },
                "staff_roles": {
                    "type": "array",
                    "minItems": 1,
                    "items": ROLE,
                    "default": list(DEFAULT_STAFF_ROLES),
                    "description": "roles (names, any case, or ids) whose members in the issue's "
                    "project are support staff; administrators always are",
                },
                "connector_login": {
                    "type": "string",
                    "minLength": 1,
                    "default": DEFAULT_CONNECTOR_LOGIN,
                    "description": "login of the API key's user, as in the plugin's 'Connector "
                    "user' setting: its notes are the connector's",
                },
                "zone": {
                    "type": "string",
                    "minLength": 1,
                    "default": DEFAULT_ZONE,
                    "description": "IANA zone of due_date's day and of the due moments' text",
                },
                "project": {
                    **IDENTIFIER,
                    "description": "the support project's identifier: install checks "
                    "the fields are enabled there and prints it for the plugin's Projects setting",
                },
                "kb_group": {
                    "type": "integer",
                    "minimum": 1,
                    "description": "id of the group whose members read the closed KB (turns the KB lever on)",
                },
                "kb_project": {
                    **IDENTIFIER,
                    "description": "the private KB project (install checks it; --apply makes the group its member)",
                },
                "kb_role": {
                    **ROLE,
                    "default": DEFAULT_KB_ROLE,
                    "description": "the role the group holds in kb_project (name or id)",
                },
                "portal_project": {
                    **IDENTIFIER,
                    "description": "a registered portal user becomes a member "
                    "of this project (to see and open their issues); none: no membership",
                },
                "portal_role": {**ROLE, "default": DEFAULT_PORTAL_ROLE, "description": "their role there (name or id)"},
            },
        },
    },
}


def status_map(options: Mapping[str, Any]) -> dict[int, TicketStatus]:
    """Status id -> common status: the stock defaults with `options.statuses` over them."""
    try:
        custom = {int(k): TicketStatus(v) for k, v in (options.get("statuses") or {}).items()}
    except ValueError as exc:
        raise BadInput(
            f"{exc}: map status ids to {', '.join(s.value for s in TicketStatus)}", f"{WHERE}.options.statuses"
        ) from None
    return {**DEFAULT_STATUSES, **custom}


def zone(options: Mapping[str, Any]) -> tzinfo:
    """The zone of due_date's day and of the written moments (default Europe/Moscow)."""
    name = str(options.get("zone") or DEFAULT_ZONE)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise BadInput(f"unknown time zone {name!r}", f"{WHERE}.options.zone") from None


def staff_roles(options: Mapping[str, Any]) -> tuple[set[int], set[str]]:
    """The staff roles as ids and lower-case names."""
    roles = options.get("staff_roles") or DEFAULT_STAFF_ROLES
    ids = {int(r) for r in roles if isinstance(r, int) or str(r).isdigit()}
    names = {str(r).strip().lower() for r in roles if not (isinstance(r, int) or str(r).isdigit())}
    return ids, names


def connector_login(options: Mapping[str, Any]) -> str:
    """The connector user's login (lower case)."""
    return str(options.get("connector_login") or DEFAULT_CONNECTOR_LOGIN).strip().lower()


def field_ids(fields: Mapping[str, str], names: tuple[str, ...]) -> dict[str, int]:
    """Our field -> Redmine custom field id, for the configured ones among `names`."""
    found = {}
    for name in names:
        value = fields.get(name)
        if value is None or value == "":
            continue
        if not str(value).isdigit() or int(value) < 1:
            raise BadInput(f"a Redmine custom field id is a positive number, not {value!r}", f"{WHERE}.fields.{name}")
        found[name] = int(value)
    return found


def plugin_can_sign(secret: str) -> bool:
    """Whether the plugin can sign with each of these secrets: `whsec_` (optional) + strict base64
    of a non-empty key, as its `secret_key` reads them (standardwebhooks itself is more lenient)."""
    for part in secret.split():
        try:
            if not base64.b64decode(part.removeprefix("whsec_"), validate=True):
                return False
        except (binascii.Error, ValueError):
            return False
    return bool(secret.split())
