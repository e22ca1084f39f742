"""Receiving a webhook, pure (as gidgethub's `Event.from_http`): headers, raw body, URL token,
secret and `now` in; one `TicketEvent` out, or one error of the connector's family.

The order matters and is the same for every platform: the size (413) before anything else; the
sender (401) on the raw bytes before they are parsed; then the content type, the JSON and the
platform's schema (400); then the adapter's own parsing (400); then the event it reports must
fit the store (ids and kinds of printable text, at most 200 characters). The web view is a thin
shim.

A correctly signed body can still be hostile (the signing secret leaks, or a platform bug): what
Python's JSON parser and `int` do with extreme nesting and extreme numbers, lone surrogates that
are not Unicode text, shapes the schema lets through and the adapter never expected. Every one of
them is a `BadInput` naming the problem (400), never a 500; tests/test_hostile_receiving.py fuzzes
this function and keeps what it found under tests/fixtures/hostile/.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, Protocol

from connector.config.schemas import validate
from connector.core.errors import BadInput, PayloadTooLarge
from connector.core.events import Delivery, TicketEvent
from connector.platforms.base import Adapter

log = logging.getLogger(__name__)
MAX_DEPTH = 64  # webhook bodies nest a few levels; deeper is hostile (and would exhaust the stack)
MAX_FIELD = 200  # the event store's columns for ids and kinds
SURROGATE = re.compile("[\ud800-\udfff]")


class Headers(Protocol):
    """A request's headers as `receive` reads them: a mapping, or the web framework's Headers
    (not a Mapping: it keeps repeated names)."""

    def items(self) -> Iterable[tuple[str, str]]: ...


def receive(
    adapter: Adapter, headers: Headers, body: bytes, token: str | None, secret: str, now: datetime, max_bytes: int
) -> TicketEvent:
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
    try:
        event = adapter.parse(delivery, payload)
    except (TypeError, ValueError, KeyError, AttributeError, IndexError, OverflowError) as exc:
        # the schema let a shape through that the adapter cannot read: the body's fault, not ours
        log.warning("%s webhook: unreadable body shape: %s: %s", adapter.name, type(exc).__name__, exc)
        raise BadInput(f"the body's shape is not one {adapter.title} sends ({type(exc).__name__})") from None
    return checked(event)


def checked(event: TicketEvent) -> TicketEvent:
    """The event if the store can keep it as it is: ticket id, kind and delivery id of printable
    text within MAX_FIELD characters; a moment out of range is dropped (it only informs)."""
    for name in ("ticket_id", "kind", "delivery_id"):
        value = getattr(event, name)
        if not isinstance(value, str) or not value:
            raise BadInput(f"the event names no {name.replace('_', ' ')}")
        if len(value) > MAX_FIELD:
            raise BadInput(f"{name.replace('_', ' ')} of {len(value)} characters (at most {MAX_FIELD})")
        if not value.isprintable():
            raise BadInput(f"{name.replace('_', ' ')} {value[:40]!r} has characters that are not printable text")
    if event.occurred_at is not None:
        try:
            event.occurred_at.astimezone(UTC)
        except (OverflowError, ValueError):
            return dataclasses.replace(event, occurred_at=None)
    return event


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
    _inspect(payload)
    return payload


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _inspect(document: Any) -> None:
    """Refuse what a plain document never holds (iteratively: no recursion): nesting deeper than
    MAX_DEPTH, numbers too large to be finite (1e999), lone surrogates (not Unicode text)."""
    stack = [(document, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, (dict, list)):
            if depth + 1 > MAX_DEPTH:
                raise BadInput(f"body nests deeper than {MAX_DEPTH} levels")
            if isinstance(node, dict):
                for key in node:
                    _text(key)
                node = list(node.values())
            stack.extend((child, depth + 1) for child in node)
        elif isinstance(node, float) and not math.isfinite(node):
            raise BadInput("body has a number too large to be a number")
        elif isinstance(node, str):
            _text(node)


def _text(value: str) -> None:
    if SURROGATE.search(value):
        raise BadInput("body has a lone UTF-16 surrogate in a string: not Unicode text")
