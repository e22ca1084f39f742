"""Receiving a webhook, pure (as gidgethub's `Event.from_http`): headers, raw body, URL token,
secret and `now` in; one `TicketEvent` out, or one error of the connector's family.

The order matters and is the same for every platform: the size (413) before anything else; the
sender (401) on the raw bytes before they are parsed; then the content type, the JSON and the
platform's schema (400); then the adapter's own parsing (400). The web view is a thin shim.
"""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Mapping

from connector.config.schemas import validate
from connector.core.errors import BadInput, PayloadTooLarge
from connector.core.events import Delivery, TicketEvent
from connector.platforms.base import Adapter

MAX_DEPTH = 64  # webhook bodies nest a few levels; deeper is hostile (and would exhaust the stack)


def receive(adapter: Adapter, headers: Mapping[str, str], body: bytes, token: str | None, secret: str,
            now: datetime, max_bytes: int) -> TicketEvent:
    """The event one delivery reports, checked in the order above."""
    if len(body) > max_bytes:
        raise PayloadTooLarge(f"body of {len(body)} bytes is over the limit of {max_bytes}")
    delivery = Delivery({k.lower(): v for k, v in headers.items()}, body, token)
    adapter.verify(delivery, secret, now)
    mimetype = (delivery.header("content-type") or "").split(";")[0].strip().lower()
    if mimetype != "application/json":
        raise BadInput(f"content type must be application/json, not {mimetype or 'none'!r}")
    payload = parse_json(body)
    validate(adapter.schema_name(), payload, f"{adapter.name} webhook body")
    return adapter.parse(delivery, payload)


def parse_json(body: bytes) -> Any:
    """The body's JSON; `BadInput` for anything that is not a plain, reasonably nested document
    (invalid UTF-8 or JSON, NaN/Infinity, numbers too long to be numbers, extreme nesting)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadInput(f"body is not UTF-8: {exc.reason} at byte {exc.start}") from None
    try:
        payload = json.loads(text, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise BadInput(f"body is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None
    except RecursionError:
        raise BadInput(f"body nests deeper than {MAX_DEPTH} levels") from None
    except ValueError as exc:  # e.g. an integer of over 4,300 digits, NaN
        raise BadInput(f"body is not usable JSON: {exc}") from None
    if _depth(payload) > MAX_DEPTH:
        raise BadInput(f"body nests deeper than {MAX_DEPTH} levels")
    return payload


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _depth(document: Any) -> int:
    """How deeply lists and objects nest in a parsed document (iteratively: no recursion)."""
    deepest, stack = 0, [(document, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            node = list(node.values())
        if isinstance(node, list):
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in node if isinstance(child, (dict, list)))
    return deepest
