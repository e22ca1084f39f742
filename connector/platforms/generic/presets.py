"""Whole mappings for trackers we know, chosen by `options.preset`; every key of `options` the
admin sets overrides the preset's (tables merge key by key, lists and values replace).

Zammad (zammad/zammad source and its admin and API docs; see webhooks/generic/README.md):
- deliveries: `X-Hub-Signature: sha1=<hex HMAC-SHA1(token, raw body)>` (lib/user_agent.rb), no
  timestamp; `X-Zammad-Delivery` = the job id, the same across Zammad's 5 retries (dedup key);
  `X-Zammad-Trigger` = the trigger's name; the default payload is {ticket, article};
- API token auth `Authorization: Token token=...`; `GET /api/v1/tickets/{id}?expand=true` names
  the state, owner (login) and channel (`create_article_type`); the customer's e-mail comes from
  `GET /api/v1/users/{customer_id}`; status changes from `GET /api/v1/ticket_history/{id}`
  (TicketsController#ticket_history: {history: [{object, attribute: "state", value_to,
  created_at}]}); `first_response_at` is Zammad's own: the first non-internal article by an
  Agent of a communication type (Ticket::Article::HasTicketContactAttributesImpact);
- write-back: one `PUT /api/v1/tickets/{id}` of the connector's object attributes (sla_*),
  `owner` by login, and the note as an internal `article` (created in the same locked update).

GLPI 11 (glpi-project/glpi source, its legacy REST API doc apirest.md, the Fields plugin's API.md):
- deliveries: `X-GLPI-signature` = hex HMAC-SHA256(secret, body . timestamp), `X-GLPI-timestamp`
  set when the event is queued; retries resend both unchanged, so no freshness window (a short
  one would refuse GLPI's own retries) and the signature is the delivery id;
- `GET /apirest.php/initSession` with `Authorization: user_token ...` gives the Session-Token;
  sub-items (`Ticket/{id}/Ticket_User`, `User/{id}/UserEmail`, the Fields container) are
  filtered by their parent exactly (API::getItems); dates come without an offset, in the API
  user's time zone: `time_zone` must say which;
- due dates go to GLPI's own Time to own / Time to resolve, tier and flags to a Fields plugin
  container "Support entitlement" (fields "Support tier", "Support flag"), the note to a private
  followup; both writes carry `_do_not_compute_takeintoaccount` so that the connector's own
  writes never count as the ticket being taken into account (the first response).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

ZAMMAD: dict[str, Any] = {
    "signature": {
        "scheme": "hmac",
        "algorithm": "sha1",
        "encoding": "hex",
        "header": "X-Hub-Signature",
        "prefix": "sha1=",
    },
    "event": {
        "ticket_id": "/ticket/id",
        "kind": "header:X-Zammad-Trigger",
        "delivery_id": "header:X-Zammad-Delivery",
        "occurred_at": "/ticket/updated_at",
    },
    "api": {"headers": {"Authorization": "Token token={credentials.api_token}"}},
    "read": {
        "ticket": {"path": "/api/v1/tickets/{ticket_id}?expand=true"},
        "customer": {"path": "/api/v1/users/{customer_id}", "with": {"customer_id": "ticket/customer_id"}},
        "history": {"path": "/api/v1/ticket_history/{ticket_id}"},
    },
    "facts": {
        "created_at": "ticket/created_at",
        "requester_email": "customer/email",
        "organisation": "ticket/organization_id",
        "product": "ticket/product",
        "request_type": "ticket/request_type",
        "channel": "ticket/create_article_type",
        "subject": "ticket/title",
        "status": "ticket/state",
        "first_response_at": "ticket/first_response_at",
    },
    "values": {
        "channel": {"email": "email", "phone": "phone", "web": "portal", "chat": "messenger", "sms": "messenger"}
    },
    "statuses": {
        "new": "new",
        "open": "open",
        "pending reminder": "pending",
        "pending close": "pending",
        "closed": "closed",
        "merged": "closed",
    },
    "status_history": {
        "from": "history/history",
        "where": {"/object": "Ticket", "/attribute": "state"},
        "at": "/created_at",
        "status": "/value_to",
    },
    "carried": {
        "tier": "ticket/sla_tier",
        "first_response_due": "ticket/sla_first_response_due",
        "resolution_due": "ticket/sla_resolution_due",
        "flags": "ticket/sla_flags",
        "assignee": "ticket/owner",
    },
    "write": [
        {
            "method": "PUT",
            "path": "/api/v1/tickets/{ticket_id}",
            "body": {
                "sla_tier": "{tier}",
                "sla_first_response_due": "{first_response_due}",
                "sla_resolution_due": "{resolution_due}",
                "sla_flags": "{flags:,}",
                "owner": "{assignee}",
                "article": {"body": "{note}", "type": "note", "internal": True, "content_type": "text/plain"},
            },
        }
    ],
}

GLPI_DATE = "%Y-%m-%d %H:%M:%S"  # how GLPI's legacy API reads and writes date-times
GLPI: dict[str, Any] = {
    "signature": {
        "scheme": "hmac",
        "algorithm": "sha256",
        "encoding": "hex",
        "header": "X-GLPI-signature",
        "timestamp_header": "X-GLPI-timestamp",
        "signed": "{body}{timestamp}",
    },
    "event": {
        "ticket_id": "/item/id",
        "kind": "/event",
        "delivery_id": "header:X-GLPI-signature",
        "occurred_at": "/item/date_mod",
        "kinds": {"new": "ticket.created", "update": "ticket.updated", "delete": "ticket.deleted"},
    },
    "api": {
        "session": {
            "method": "GET",
            "path": "/apirest.php/initSession",
            "token": "/session_token",
            "headers": {"Authorization": "user_token {credentials.user_token}", "Content-Type": "application/json"},
        },
        "headers": {"Session-Token": "{session}", "Content-Type": "application/json"},
    },
    "read": {
        "ticket": {"path": "/apirest.php/Ticket/{ticket_id}"},
        "actors": {"path": "/apirest.php/Ticket/{ticket_id}/Ticket_User"},
        "requester": {
            "path": "/apirest.php/User/{user}/UserEmail",
            "with": {"user": {"from": "actors", "where": {"/type": 1}, "value": "/users_id"}},
        },
        "technician": {
            "path": "/apirest.php/User/{user}/UserEmail",
            "with": {"user": {"from": "actors", "where": {"/type": 2}, "value": "/users_id"}},
        },
        "fields": {"path": "/apirest.php/Ticket/{ticket_id}/PluginFieldsTicketsupportentitlement"},
    },
    "facts": {
        "created_at": "ticket/date",
        "requester_email": {"from": "requester", "where": {"/is_default": 1}, "value": "/email"},
        "organisation": "ticket/entities_id",
        "product": "ticket/itilcategories_id",
        "request_type": "ticket/type",
        "channel": "ticket/requesttypes_id",
        "subject": "ticket/name",
        "status": "ticket/status",
        "first_response_at": "ticket/takeintoaccountdate",
    },
    "values": {
        "request_type": {"1": "error", "2": "information"},
        "channel": {"1": "portal", "2": "email", "3": "phone", "4": "office"},
    },
    "statuses": {"1": "new", "2": "open", "3": "open", "4": "pending", "5": "solved", "6": "closed"},
    "status_since": {
        "pending": "ticket/begin_waiting_date",
        "solved": "ticket/solvedate",
        "closed": "ticket/closedate",
    },
    "carried": {
        "tier": "fields/0/supporttierfield",
        "flags": "fields/0/supportflagfield",
        "first_response_due": "ticket/time_to_own",
        "resolution_due": "ticket/time_to_resolve",
        "assignee": {"from": "technician", "where": {"/is_default": 1}, "value": "/email"},
    },
    "write": [
        {
            "method": "PUT",
            "path": "/apirest.php/Ticket/{ticket_id}",
            "body": {
                "input": {
                    "time_to_own": "{first_response_due:" + GLPI_DATE + "}",
                    "time_to_resolve": "{resolution_due:" + GLPI_DATE + "}",
                    "supporttierfield": "{tier}",
                    "supportflagfield": "{flags:,}",
                    "_do_not_compute_takeintoaccount": True,
                }
            },
        },
        {
            "method": "POST",
            "path": "/apirest.php/ITILFollowup",
            "body": {
                "input": {
                    "itemtype": "Ticket",
                    "items_id": "{ticket_id}",
                    "content": "{note}",
                    "is_private": 1,
                    "_do_not_compute_takeintoaccount": True,
                }
            },
        },
    ],
}

PRESETS: dict[str, Mapping[str, Any]] = {"zammad": ZAMMAD, "glpi": GLPI}
# what a preset cannot know and the admin must set (key -> why)
REQUIRED: dict[str, dict[str, str]] = {
    "glpi": {
        "time_zone": "GLPI's API gives date-times without an offset, in its API user's time zone: "
        "set time_zone to that zone (e.g. Europe/Moscow)"
    },
}


def merged(preset: Mapping[str, Any] | None, options: Mapping[str, Any]) -> dict[str, Any]:
    """The preset with the admin's options over it: tables merge key by key, the rest replaces."""
    out: dict[str, Any] = {k: v for k, v in (preset or {}).items()}
    for key, value in options.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merged(out[key], value)
        else:
            out[key] = value
    return out
