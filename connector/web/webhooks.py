"""`POST /webhooks/<platform>`: check the sender, the size and the shape, store, answer.

Order matters: unknown platform (404) before anything is read; size (413) before the body is
read whole; the signature (401) on the raw bytes before they are parsed; then JSON and the
platform's schema (400); the event is stored before the 202 (200 for a delivery seen before).
"""
from __future__ import annotations

import json
from datetime import datetime, timezone

from flask import Blueprint, current_app, jsonify, request

from connector.composition import Connector
from connector.config.schemas import validate
from connector.core.errors import BadInput, NotFound, PayloadTooLarge
from connector.core.events import Delivery
from connector.platforms.base import Adapter

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")


def _runtime() -> Connector:
    return current_app.extensions["connector"]


def _adapter(runtime: Connector, platform: str) -> Adapter:
    """The enabled adapter; a platform without a webhook secret is not enabled (fail closed)."""
    adapter = runtime.adapters.get(platform)
    if adapter is None or not adapter.settings.webhook_secret:
        raise NotFound(f"platform {platform!r} is not configured on this connector")
    return adapter


def _read_body(limit: int) -> bytes:
    """The body, refusing (413) anything over `limit` bytes without reading it all."""
    if request.content_length is not None and request.content_length > limit:
        raise PayloadTooLarge(f"body of {request.content_length} bytes is over the limit of {limit}")
    body = request.stream.read(limit + 1)
    if len(body) > limit:
        raise PayloadTooLarge(f"body is over the limit of {limit} bytes")
    return body


@bp.post("/<platform>")
def receive(platform: str):
    """Receive one delivery of `platform`."""
    runtime = _runtime()
    metrics = runtime.metrics
    try:
        adapter = _adapter(runtime, platform)
    except NotFound:
        metrics.received.labels("unknown", "not_found").inc()
        raise
    try:
        body = _read_body(current_app.config["MAX_BODY_BYTES"])
        delivery = Delivery({k.lower(): v for k, v in request.headers.items()}, body, request.args.get("token"))
        now = datetime.now(timezone.utc)
        adapter.verify(delivery, now)
        if request.mimetype != "application/json":
            raise BadInput(f"content type must be application/json, not {request.mimetype or 'none'!r}")
        try:
            payload = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BadInput(f"body is not valid JSON: {exc}") from None
        validate(adapter.schema_name(), payload, f"{platform} webhook body")
        event = adapter.parse(delivery, payload)
        event_id, created = runtime.store.add(event, body, now)
    except Exception as exc:
        metrics.received.labels(platform, type(exc).__name__).inc()
        raise
    metrics.received.labels(platform, "accepted" if created else "duplicate").inc()
    if not created:
        return jsonify(status="duplicate", event_id=event_id), 200
    return jsonify(status="accepted", event_id=event_id, ticket=event.ticket_id, kind=event.kind), 202
