"""The generic platform's settings schema (JSON Schema), checked when the config loads.

It checks the shapes; what a schema cannot see (JSON Pointer syntax, templates naming unknown
values, reads that do not exist, what a preset leaves to fill in) is checked next, when the
mapping is built (connector.platforms.generic.mapping), each problem named by its key too.
"""

from __future__ import annotations

from typing import Any

from connector.core.entitlement import CHANNELS, REQUEST_TYPES, TOPICS
from connector.core.ticket import TicketStatus

STATUSES = [s.value for s in TicketStatus]
SCALAR = {"type": ["string", "integer", "boolean"]}
TEMPLATE = {"type": "string", "description": "text with {placeholders}"}
PATH = {
    "type": "string",
    "pattern": "^/",
    "description": "a path template under base_url, e.g. /api/v1/tickets/{ticket_id}",
}
HEADER_NAME = {"type": "string", "pattern": "^[A-Za-z0-9-]+$"}
SOURCE = {
    "type": "string",
    "minLength": 1,
    "description": "a JSON Pointer into the webhook body (/ticket/id) or header:<Name>",
}
SELECTOR = {
    "type": ["string", "object"],
    "description": "<read name><JSON Pointer> (ticket/created_at), or {from, where, value}: the first "
    "item of a listed answer whose pointers hold the values, then value inside it",
}
HEADERS = {"type": "object", "propertyNames": HEADER_NAME, "additionalProperties": TEMPLATE}


def _table(properties: dict, required: tuple[str, ...] = (), description: str = "") -> dict:
    """A closed table: unknown keys are errors naming themselves."""
    doc = {"type": "object", "additionalProperties": False, "properties": properties}
    if required:
        doc["required"] = list(required)
    if description:
        doc["description"] = description
    return doc


def _value_map(allowed: tuple[str, ...] | None) -> dict:
    """A map of tracker values to the connector's (`allowed`: its only values)."""
    return {"type": "object", "additionalProperties": {"enum": list(allowed)} if allowed else {"type": "string"}}


SIGNATURE = _table(
    {
        "scheme": {"enum": ["hmac", "standard-webhooks", "header-token", "url-token"]},
        "header": HEADER_NAME,
        "algorithm": {"enum": ["sha256", "sha1", "sha512"], "default": "sha256"},
        "encoding": {"enum": ["hex", "base64"], "default": "hex"},
        "prefix": {"type": "string", "description": "before the signature or token, e.g. sha1= or Bearer "},
        "timestamp_header": HEADER_NAME,
        "signed": {
            "type": "string",
            "default": "{body}",
            "description": "what is signed: {body} and {timestamp} (the timestamp header) with any literal text",
        },
        "tolerance_seconds": {
            "type": "number",
            "exclusiveMinimum": 0,
            "description": "refuse timestamps further than this from now (needs timestamp_header)",
        },
    },
    ("scheme",),
    "how deliveries prove their sender",
)

EVENT = _table(
    {
        "ticket_id": SOURCE,
        "kind": SOURCE,
        "kinds": {
            "type": "object",
            "additionalProperties": {"type": "string", "minLength": 1, "maxLength": 200},
            "description": "the tracker's event name -> the kind the connector records",
        },
        "delivery_id": SOURCE,
        "occurred_at": SOURCE,
    },
    description="what a delivery names: the ticket, the event kind, the delivery id (dedup), when",
)

SESSION = _table(
    {
        "method": {"enum": ["GET", "POST", "PUT", "PATCH"]},
        "path": PATH,
        "headers": HEADERS,
        "token": {"type": "string", "description": "JSON Pointer to the session token in the answer"},
    },
    ("method", "path", "token"),
)

API = _table(
    {
        "headers": {**HEADERS, "description": "sent on every API call: {credentials.NAME}, {params.NAME}, {session}"},
        "basic": _table({"username": TEMPLATE, "password": TEMPLATE}, ("username", "password")),
        "session": {
            **SESSION,
            "description": "a login call whose answer's token becomes {session} (GLPI's initSession)",
        },
        "timeout_seconds": {"type": "number", "exclusiveMinimum": 0, "maximum": 120, "default": 10},
    }
)

READ = _table(
    {
        "path": PATH,
        "with": {
            "type": "object",
            "propertyNames": {"pattern": "^[a-z][a-z0-9_]*$"},
            "additionalProperties": SELECTOR,
            "description": "values of earlier reads the path names; the read is skipped when one is absent",
        },
    },
    ("path",),
)

FACTS = _table(
    {
        name: SELECTOR
        for name in (
            "created_at",
            "requester_email",
            "organisation",
            "product",
            "request_type",
            "topic",
            "channel",
            "subject",
            "status",
            "first_response_at",
        )
    },
    description="where the ticket's facts are in the reads' answers",
)

CARRIED = _table(
    {name: SELECTOR for name in ("tier", "first_response_due", "resolution_due", "flags", "assignee")},
    description="where the values the write-back writes are read back",
)

WRITE = _table(
    {
        "method": {"enum": ["POST", "PUT", "PATCH"]},
        "path": PATH,
        "body": {
            "type": ["object", "array"],
            "description": "JSON with {tier}, {first_response_due}, "
            "{resolution_due}, {flags}, {assignee}, {note}, {ticket_id}, {params.NAME}",
        },
    },
    ("method", "path", "body"),
)

OPTIONS = _table(
    {
        "preset": {"enum": ["glpi", "zammad"], "description": "a tracker's whole mapping; any key below overrides it"},
        "time_zone": {
            "type": "string",
            "minLength": 1,
            "description": "IANA zone of the tracker's times without an offset (and of strftime formats)",
        },
        "params": {
            "type": "object",
            "propertyNames": {"pattern": "^[A-Za-z0-9_]+$"},
            "additionalProperties": SCALAR,
            "description": "constants templates name as {params.NAME}",
        },
        "signature": SIGNATURE,
        "event": EVENT,
        "api": API,
        "read": {
            "type": "object",
            "propertyNames": {"pattern": "^[a-z][a-z0-9_]*$"},
            "additionalProperties": READ,
            "description": "the API reads of a ticket, in order; {ticket_id} and `with` values in paths",
        },
        "facts": FACTS,
        "values": _table(
            {
                "product": _value_map(None),
                "request_type": _value_map(REQUEST_TYPES),
                "topic": _value_map(TOPICS),
                "channel": _value_map(CHANNELS),
            },
            description="the tracker's values -> the connector's",
        ),
        "statuses": {
            "type": "object",
            "additionalProperties": {"enum": STATUSES},
            "description": "the tracker's status -> new, open, pending, hold, solved or closed",
        },
        "status_since": {
            "type": "object",
            "propertyNames": {"enum": STATUSES},
            "additionalProperties": SELECTOR,
            "description": "since when the ticket has its current status, per status",
        },
        "status_history": _table(
            {
                "from": {"type": "string"},
                "where": {"type": "object", "additionalProperties": SCALAR},
                "at": {"type": "string"},
                "status": {"type": "string"},
            },
            ("from", "at", "status"),
        ),
        "carried": CARRIED,
        "write": {
            "type": "array",
            "minItems": 1,
            "items": WRITE,
            "description": "the write-back calls, in order; a call whose values did not change is not made",
        },
    }
)


def relaxed(schema: Any) -> Any:
    """The schema without `required`: what an admin writes may leave to the preset what it
    gives (the merged mapping is checked against the full schema)."""
    if isinstance(schema, dict):
        return {k: relaxed(v) for k, v in schema.items() if k != "required"}
    if isinstance(schema, list):
        return [relaxed(v) for v in schema]
    return schema


SETTINGS_SCHEMA = {
    "type": "object",
    "properties": {
        "credentials": {
            "type": "object",
            "propertyNames": {"pattern": "^[A-Za-z0-9_]+$"},
            "description": "any secrets the api templates name as {credentials.NAME}",
        },
        "fields": {
            "type": "object",
            "additionalProperties": False,
            "description": "unused: options.write and options.carried name the tracker's fields",
        },
        "options": relaxed(OPTIONS),
    },
}
