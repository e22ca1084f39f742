"""`POST /webhooks/<platform>`: a thin shim over `connector.platforms.receiving.receive`.

An unknown platform (404) before anything is read; a body over the limit (413) before it is read
whole (its content: a chunked body arrives de-chunked, with its real length; see
connector/web/server.py); then the pure checks (401, 400); the event is stored before the 202
(200 for a delivery seen before), stamped with the database's clock.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, current_app, jsonify, request

from connector.composition import Connector
from connector.core.errors import NotFound, PayloadTooLarge
from connector.platforms import receiving
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
    """Receive one delivery of `platform`: the pure `receive`, then the event is stored."""
    runtime = _runtime()
    runtime.webhooks.enter()
    try:
        return _receive(runtime, platform)
    finally:
        runtime.webhooks.leave()


def _receive(runtime: Connector, platform: str):
    """The delivery checked and stored; the answer."""
    metrics = runtime.metrics
    try:
        adapter = _adapter(runtime, platform)
    except NotFound:
        metrics.received.labels("unknown", "not_found").inc()
        raise
    try:
        limit = current_app.config["MAX_BODY_BYTES"]
        now = datetime.now(UTC)
        body = _read_body(limit)
        event = receiving.receive(
            adapter, request.headers, body, request.args.get("token"), adapter.settings.webhook_secret, now, limit
        )
        event_id, created = runtime.store.add(event, body)
    except Exception as exc:
        metrics.received.labels(platform, type(exc).__name__).inc()
        raise
    metrics.received.labels(platform, "accepted" if created else "duplicate").inc()
    if not created:
        return jsonify(status="duplicate", event_id=event_id), 200
    return jsonify(status="accepted", event_id=event_id, ticket=event.ticket_id, kind=event.kind), 202
