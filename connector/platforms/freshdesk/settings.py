"""The settings schema of `[platforms.freshdesk]`: checked when the config loads, so a misnamed or
malformed key is a start-up error naming it (platforms.freshdesk.fields.tier: ...).

Fields are custom ticket field names as `GET /api/v2/ticket_fields` lists them (`cf_<name>`).
The connector's own due moments need two text fields: Freshdesk's `fr_due_by`/`due_by` cannot
always hold them (writing.py), so they are mirrored there where Freshdesk allows.
"""

from __future__ import annotations

CF = {"type": "string", "pattern": "^cf_[A-Za-z0-9_]+$", "description": "a custom field name, e.g. cf_support_tier"}
COMMON_STATUSES = ["new", "open", "pending", "hold", "solved", "closed"]
ID = {"type": "integer", "minimum": 1}

SETTINGS_SCHEMA = {
    "type": "object",
    "properties": {
        "credentials": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "api_key": {"type": "string", "description": "the API key of the connector's agent (Profile settings)"}
            },
        },
        "fields": {
            "type": "object",
            "additionalProperties": False,
            "required": ["tier", "first_response_due", "resolution_due"],
            "description": "our field -> the custom ticket field's name",
            "properties": {
                "tier": {**CF, "description": "Support tier: a single-line text field (or a dropdown)"},
                "first_response_due": {**CF, "description": "single-line text: the connector's due moment"},
                "resolution_due": {**CF, "description": "single-line text: the connector's due moment"},
                "product": CF,
                "request_type": CF,
                "topic": CF,
            },
        },
        "options": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "token_header": {
                    "type": "string",
                    "pattern": "^[A-Za-z0-9-]+$",
                    "default": "X-Connector-Token",
                    "description": "the custom header the automation rules send the secret in",
                },
                "statuses": {
                    "type": "object",
                    "propertyNames": {"pattern": "^[0-9]+$"},
                    "additionalProperties": {"enum": COMMON_STATUSES},
                    "description": "status code -> common status (custom statuses are 6 and up)",
                },
                "sla_timer_off_statuses": {
                    "type": "array",
                    "items": {"type": "integer", "minimum": 2},
                    "uniqueItems": True,
                    "default": [3],
                    "description": "statuses whose SLA timer is off (Resolved, Closed always)",
                },
                "write_due_by": {
                    "type": "boolean",
                    "default": True,
                    "description": "mirror the due moments into Freshdesk's fr_due_by and due_by",
                },
                "request_types": {
                    "type": "object",
                    "additionalProperties": {"enum": ["error", "information", "proposal"]},
                    "description": "ticket type -> request type (default: Question, Incident, Problem,"
                    " Feature Request)",
                },
                "tier_values": {
                    "type": "object",
                    "additionalProperties": {"type": "string", "minLength": 1},
                    "description": "tier code -> dropdown choice, when the tier field is a dropdown",
                },
                "products": {
                    "type": "object",
                    "additionalProperties": {"type": "string", "minLength": 1},
                    "description": "product field value -> registry product code",
                },
                "kb_folder_ids": {
                    "type": "array",
                    "items": ID,
                    "minItems": 1,
                    "uniqueItems": True,
                    "description": "the closed solution folders, visible to selected companies (turns KB access on)",
                },
                "kb_keep_company_ids": {
                    "type": "array",
                    "items": ID,
                    "uniqueItems": True,
                    "description": "companies never taken out of the closed folders",
                },
                "api_requests_per_minute": {
                    "type": "number",
                    "exclusiveMinimum": 0,
                    "description": "pace bulk work (KB sync) under this rate",
                },
            },
        },
    },
}
