"""The settings schema of `[platforms.jira-service-management]`: checked when the config loads, so a
misnamed or malformed key is a start-up error naming it (platforms.jira-service-management.fields.tier: ...).

Field ids are the site's custom field ids (`customfield_NNNNN`, from `GET /rest/api/3/field`).
"""

from __future__ import annotations

COMMON_STATUSES = ["new", "open", "pending", "hold", "solved", "closed"]
CUSTOM_FIELD = {
    "type": "string",
    "pattern": "^customfield_[0-9]+$",
    "description": "a custom field id, e.g. customfield_10051 (GET /rest/api/3/field)",
}

SETTINGS_SCHEMA = {
    "type": "object",
    "properties": {
        "credentials": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "email": {"type": "string", "description": "the connector's Atlassian account e-mail (an agent)"},
                "api_token": {
                    "type": "string",
                    "description": "its API token (id.atlassian.com > Security > API tokens)",
                },
            },
        },
        "fields": {
            "type": "object",
            "additionalProperties": False,
            "required": ["tier", "first_response_due", "resolution_due"],
            "description": "our field -> the custom field id",
            "properties": {
                "tier": {**CUSTOM_FIELD, "description": "Support tier: a text field or a select list"},
                "first_response_due": {**CUSTOM_FIELD, "description": "a Date Time picker field"},
                "resolution_due": {**CUSTOM_FIELD, "description": "a Date Time picker field"},
                "product": CUSTOM_FIELD,
                "request_type": CUSTOM_FIELD,
                "topic": CUSTOM_FIELD,
            },
        },
        "options": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "jql": {
                    "type": "string",
                    "minLength": 1,
                    "description": "the admin webhook's JQL filter `install --apply` sets, e.g. project = SUP",
                },
                "tier_field": {
                    "enum": ["text", "select"],
                    "default": "text",
                    "description": "select: the tier field is a select list, written as {value: ...}",
                },
                "tier_values": {
                    "type": "object",
                    "additionalProperties": {"type": "string", "minLength": 1},
                    "description": "tier code -> option value, when the options are named otherwise",
                },
                "statuses": {
                    "type": "object",
                    "additionalProperties": {"enum": COMMON_STATUSES},
                    "description": "status name or id -> common status (beyond JSM's own workflows)",
                },
                "products": {
                    "type": "object",
                    "additionalProperties": {"type": "string", "minLength": 1},
                    "description": "product field value -> registry product code",
                },
                "kb_group_id": {
                    "type": "string",
                    "minLength": 1,
                    "description": "the group a closed Confluence space is restricted to (turns KB access on)",
                },
                "service_desk_id": {
                    "type": "string",
                    "pattern": "^[0-9]+$",
                    "description": "the service desk customers are registered in (turns portal registration on)",
                },
                "api_requests_per_minute": {
                    "type": "number",
                    "exclusiveMinimum": 0,
                    "description": "pace bulk work (KB sync, registration) under this rate",
                },
            },
        },
    },
}
