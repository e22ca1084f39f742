"""Zendesk webhook signatures: base64(HMAC-SHA256(signing secret, timestamp + raw body)).

Docs: https://developer.zendesk.com/documentation/webhooks/verifying/ and
https://developer.zendesk.com/documentation/webhooks/anatomy-of-a-webhook-request/
(headers `X-Zendesk-Webhook-Signature`, `-Signature-Timestamp`, `-Invocation-Id`).
Pure functions on bytes: no network, no clock (the caller passes `now`), fail closed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta

from connector.core.errors import Unauthorized

SIGNATURE_HEADER = "x-zendesk-webhook-signature"
TIMESTAMP_HEADER = "x-zendesk-webhook-signature-timestamp"
INVOCATION_HEADER = "x-zendesk-webhook-invocation-id"
# Replays: a signed request older (or newer: clock skew, forged future stamps) than this is refused.
MAX_SKEW = timedelta(minutes=5)


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature Zendesk puts in `X-Zendesk-Webhook-Signature` for this timestamp and body."""
    digest = hmac.new(secret.encode("utf-8"), timestamp.encode("utf-8") + body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def parse_timestamp(value: str) -> datetime:
    """The signature timestamp (ISO 8601 with `Z` or an offset, as Zendesk sends it) as aware UTC."""
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise Unauthorized(f"unreadable {TIMESTAMP_HEADER} {value[:40]!r}") from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise Unauthorized(f"{TIMESTAMP_HEADER} has no UTC offset")
    return moment.astimezone(UTC)


def check(secret: str, signature: str | None, timestamp: str | None, body: bytes, now: datetime) -> None:
    """Raise `Unauthorized` unless `signature` signs `timestamp + body` with `secret`, freshly.

    Fail closed: no secret configured refuses everything, so does a missing header; the
    comparison is constant-time; a timestamp more than MAX_SKEW away from `now` (either way)
    is a replay or a forgery.
    """
    if not secret:
        raise Unauthorized("no Zendesk webhook signing secret is configured")
    if not signature:
        raise Unauthorized(f"missing {SIGNATURE_HEADER} header")
    if not timestamp:
        raise Unauthorized(f"missing {TIMESTAMP_HEADER} header")
    moment = parse_timestamp(timestamp)
    expected = sign(secret, timestamp, body)
    if not hmac.compare_digest(expected.encode("ascii"), signature.strip().encode("utf-8", "replace")):
        raise Unauthorized("signature does not match the body")
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    if abs(now - moment) > MAX_SKEW:
        raise Unauthorized(
            f"signature timestamp {timestamp} is more than {int(MAX_SKEW.total_seconds() // 60)} minutes from now"
        )
