"""Jira admin-webhook signatures: `X-Hub-Signature: sha256=<hex HMAC-SHA256(secret, raw body)>`.

Docs: https://developer.atlassian.com/cloud/jira/platform/webhooks/#secure-admin-webhooks (WebSub
style `method=signature`; the method may change from sha256, so the prefix is parsed and an unknown
method is refused). Jira signs no timestamp and sends none: there is no replay window, retries are
recognised by `X-Atlassian-Webhook-Identifier` (the same on every retry of a delivery).
Pure functions on bytes: no network, no clock, fail closed.
"""

from __future__ import annotations

import hashlib
import hmac

from connector.core.errors import Unauthorized

SIGNATURE_HEADER = "x-hub-signature"
IDENTIFIER_HEADER = "x-atlassian-webhook-identifier"
RETRY_HEADER = "x-atlassian-webhook-retry"
FLOW_HEADER = "x-atlassian-webhook-flow"
METHODS = {"sha256": hashlib.sha256}


def sign(secret: str, body: bytes, method: str = "sha256") -> str:
    """The `X-Hub-Signature` value Jira puts on `body` for `secret`."""
    digest = hmac.new(secret.encode("utf-8"), body, METHODS[method]).hexdigest()
    return f"{method}={digest}"


def check(secret: str, header: str | None, body: bytes) -> None:
    """Raise `Unauthorized` unless `header` signs `body` with `secret` (constant-time compare).

    No secret configured refuses everything, so does a missing or unparsable header or a method
    other than those Jira is known to use."""
    if not secret:
        raise Unauthorized("no Jira Service Management webhook secret is configured")
    if not header:
        raise Unauthorized(f"missing {SIGNATURE_HEADER} header (give the admin webhook a secret)")
    method, _, offered = header.strip().partition("=")
    if method.lower() not in METHODS:
        raise Unauthorized(f"unsupported {SIGNATURE_HEADER} method {method[:20]!r} (known: sha256)")
    expected = sign(secret, body, method.lower()).partition("=")[2]
    if not hmac.compare_digest(expected.encode("ascii"), offered.strip().lower().encode("utf-8", "replace")):
        raise Unauthorized("signature does not match the body")
