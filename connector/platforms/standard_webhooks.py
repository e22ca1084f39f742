"""Standard Webhooks (https://www.standardwebhooks.com/), the one scheme every add-on we ship signs
with (the Request Tracker scrip, the Redmine plugin): `webhook-id` (a delivery id, stable across
retries), `webhook-timestamp` (Unix seconds), `webhook-signature: v1,<base64 HMAC-SHA256 of
"{id}.{timestamp}.{body}">` keyed with the base64 part of a `whsec_...` secret. Several
space-separated signatures may come during a key rotation, and the connector's secret may name
several secrets (space-separated) for the same reason: any match passes.

The signature is computed by the `standardwebhooks` package (its `Webhook.sign`); the freshness
check (5 minutes either way) is ours, against the `now` passed in, so that receiving stays pure.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets as random
from datetime import UTC, datetime, timedelta

from standardwebhooks.webhooks import EmptyWebhookSecretError, Webhook

from connector.core.errors import Unauthorized
from connector.core.events import Delivery

ID, TIMESTAMP, SIGNATURE = "webhook-id", "webhook-timestamp", "webhook-signature"
TOLERANCE = timedelta(minutes=5)
AUTHENTICATION = (
    "Standard Webhooks: webhook-signature v1 = base64(HMAC-SHA256(whsec_ secret, "
    "webhook-id.webhook-timestamp.body)), timestamp within 5 minutes, several secrets "
    "during a key rotation"
)


def keys(secret: str) -> list[Webhook]:
    """The signers of a configured secret (one or several `whsec_...`, space-separated)."""
    found = []
    for part in secret.split():
        try:
            found.append(Webhook(part))
        except (EmptyWebhookSecretError, binascii.Error, ValueError):
            raise Unauthorized("the configured webhook secret is not a whsec_... secret") from None
    return found


def check(secret: str, delivery: Delivery, now: datetime) -> str:
    """The delivery's id, once its signature matches a configured secret and its timestamp is
    within 5 minutes of `now`; `Unauthorized` otherwise (no secret: nothing passes)."""
    signers = keys(secret or "")
    if not signers:
        raise Unauthorized("no webhook secret is configured")
    msg_id, stamp, signatures = (delivery.header(h) for h in (ID, TIMESTAMP, SIGNATURE))
    if not msg_id or not stamp or not signatures:
        raise Unauthorized(f"missing {ID}, {TIMESTAMP} or {SIGNATURE} header")
    try:
        sent = datetime.fromtimestamp(int(stamp.strip()), tz=UTC)
    except (ValueError, OverflowError, OSError):
        raise Unauthorized(f"unreadable {TIMESTAMP} {stamp[:40]!r}") from None
    try:
        body = delivery.body.decode("utf-8")
    except UnicodeDecodeError:
        raise Unauthorized("signature does not match the body (the body is not UTF-8)") from None
    offered = [_decoded(s) for s in signatures.split() if s.startswith("v1,")]
    for signer in signers:
        expected = _decoded(signer.sign(msg_id, sent, body))
        if any(o is not None and hmac.compare_digest(expected, o) for o in offered):  # type: ignore[arg-type]
            break
    else:
        raise Unauthorized("signature does not match the body")
    if abs(now.astimezone(UTC) - sent) > TOLERANCE:
        raise Unauthorized(f"{TIMESTAMP} {stamp} is more than 5 minutes from now")
    return msg_id


def sign(secret: str, body: bytes, now: datetime, msg_id: str) -> dict[str, str]:
    """The headers a Standard Webhooks sender puts on `body` at `now` (the first secret signs).
    The scheme signs text: a body that is not UTF-8 is signed as decoded with replacements, which
    `check` refuses as not UTF-8 whatever the signature."""
    signer = keys(secret)[0]
    stamp = now.astimezone(UTC).replace(microsecond=0)
    return {
        ID: msg_id,
        TIMESTAMP: str(int(stamp.timestamp())),
        SIGNATURE: signer.sign(msg_id, stamp, body.decode("utf-8", "replace")),
    }


def new_secret() -> str:
    """A fresh `whsec_` secret (24 random bytes), for an admin to configure on both sides."""
    return "whsec_" + base64.b64encode(random.token_bytes(24)).decode("ascii")


def _decoded(versioned: str) -> bytes | None:
    try:
        return base64.b64decode(versioned.split(",", 1)[1], validate=True)
    except (IndexError, binascii.Error, ValueError):
        return None
