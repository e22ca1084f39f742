"""How a generic tracker proves a webhook is its own, as configured in `options.signature`:

- `hmac`: an HMAC (SHA-256, SHA-1 or SHA-512) of the raw body, hex or base64, in a header,
  optionally after a prefix (`sha1=`), optionally over a timestamp header too (the `signed`
  template says in which order: `{body}{timestamp}` for GLPI), with an optional tolerance;
- `standard-webhooks`: connector.platforms.standard_webhooks (webhook-id, -timestamp, -signature);
- `header-token`: a shared secret in a header (optionally after a prefix such as `Bearer `);
- `url-token`: a shared secret as the URL's `?token=`.

Pure (gidgethub's rule): bytes and `now` in, `Unauthorized` out; no secret refuses everything;
comparisons are constant-time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from connector.core.errors import Unauthorized
from connector.core.events import Delivery
from connector.platforms import standard_webhooks
from connector.platforms.generic.templates import Template

ALGORITHMS = {"sha256": hashlib.sha256, "sha1": hashlib.sha1, "sha512": hashlib.sha512}


@dataclass(frozen=True)
class Scheme:
    """A configured signature scheme (checked when the config loads)."""

    kind: str  # hmac, standard-webhooks, header-token, url-token
    header: str | None = None
    algorithm: str = "sha256"
    encoding: str = "hex"
    prefix: str = ""
    timestamp_header: str | None = None
    signed: Template = field(default_factory=lambda: Template.parse("{body}"))
    tolerance: timedelta | None = None

    @classmethod
    def from_options(cls, doc: Mapping[str, Any]) -> Scheme:
        """The scheme of a validated `options.signature` table."""
        tolerance = doc.get("tolerance_seconds")
        header, stamp = doc.get("header"), doc.get("timestamp_header")
        return cls(
            doc["scheme"],
            header,
            doc.get("algorithm", "sha256"),
            doc.get("encoding", "hex"),
            doc.get("prefix", ""),
            stamp,
            Template.parse(doc.get("signed", "{body}")),
            timedelta(seconds=tolerance) if tolerance is not None else None,
        )

    @property
    def signs_body(self) -> bool:
        """Whether a changed body fails the check (a shared token proves only the sender)."""
        return self.kind in ("hmac", "standard-webhooks")

    def describe(self) -> str:
        """One line for docs and `connector install`."""
        if self.kind == "hmac":
            signed = self.signed.text.replace("{timestamp}", "{" + (self.timestamp_header or "") + "}")
            fresh = f", timestamp within {self.tolerance.total_seconds():g} s" if self.tolerance else ""
            return f"{self.header}: {self.prefix}<{self.encoding} HMAC-{self.algorithm.upper()} of {signed}>{fresh}"
        if self.kind == "header-token":
            return f"the shared secret in {self.header}" + (f" after {self.prefix!r}" if self.prefix else "")
        if self.kind == "url-token":
            return "the shared secret as the URL's ?token="
        return standard_webhooks.AUTHENTICATION

    def check(self, delivery: Delivery, secret: str, now: datetime) -> str | None:
        """`Unauthorized` unless the delivery is genuine; the Standard Webhooks id, if any."""
        if not secret:
            raise Unauthorized("no webhook secret is configured for this platform")
        if self.kind == "standard-webhooks":
            return standard_webhooks.check(secret, delivery, now)
        if self.kind == "url-token":
            _same(delivery.token, secret, "the webhook URL has no ?token=", "the webhook URL's token is wrong")
            return None
        offered = delivery.header(self.header or "")
        if not offered:
            raise Unauthorized(f"missing {self.header} header")
        offered = offered.strip()
        if self.prefix:
            if not offered.startswith(self.prefix):
                raise Unauthorized(f"{self.header} does not start with {self.prefix!r}")
            offered = offered[len(self.prefix) :]
        if self.kind == "header-token":
            _same(offered, secret, f"missing {self.header} header", f"{self.header} is wrong")
            return None
        stamp = self._stamp(delivery)
        expected = self.digest(secret, delivery.body, stamp)
        if self.encoding == "hex":
            offered = offered.lower()
        if not hmac.compare_digest(expected.encode("ascii"), offered.encode("utf-8", "replace")):
            raise Unauthorized("signature does not match the body")
        if self.tolerance is not None and stamp is not None:
            sent = parse_stamp(stamp, self.timestamp_header or "")
            if abs(now.astimezone(UTC) - sent) > self.tolerance:
                raise Unauthorized(
                    f"{self.timestamp_header} {stamp} is more than {self.tolerance.total_seconds():g} s from now"
                )
        return None

    def _stamp(self, delivery: Delivery) -> str | None:
        """The timestamp header's value, when the scheme signs one."""
        if not self.timestamp_header:
            return None
        stamp = delivery.header(self.timestamp_header)
        if not stamp:
            raise Unauthorized(f"missing {self.timestamp_header} header")
        return stamp.strip()

    def digest(self, secret: str, body: bytes, stamp: str | None) -> str:
        """The signature (without its prefix) of `body` and `stamp`, as the tracker writes it."""
        message = b"".join(
            part.encode("utf-8")
            if isinstance(part, str)
            else body
            if part.name == "body"
            else (stamp or "").encode("utf-8")
            for part in self.signed.parts
        )
        mac = hmac.new(secret.encode("utf-8"), message, ALGORITHMS[self.algorithm]).digest()
        return mac.hex() if self.encoding == "hex" else base64.b64encode(mac).decode("ascii")

    def sign(self, body: bytes, secret: str, now: datetime, delivery_id: str) -> tuple[dict[str, str], str | None]:
        """The headers (or URL token) a genuine delivery of `body` carries at `now`."""
        if self.kind == "standard-webhooks":
            return standard_webhooks.sign(secret, body, now, delivery_id), None
        if self.kind == "url-token":
            return {}, secret
        if self.kind == "header-token":
            return {self.header or "": f"{self.prefix}{secret}"}, None
        headers = {}
        stamp = None
        if self.timestamp_header:
            stamp = str(int(now.astimezone(UTC).timestamp()))
            headers[self.timestamp_header] = stamp
        headers[self.header or ""] = self.prefix + self.digest(secret, body, stamp)
        return headers, None


def _same(offered: str | None, secret: str, missing: str, wrong: str) -> None:
    """A shared token, compared in constant time."""
    if not offered:
        raise Unauthorized(missing)
    if not hmac.compare_digest(offered.encode("utf-8"), secret.encode("utf-8")):
        raise Unauthorized(wrong)


def parse_stamp(value: str, header: str) -> datetime:
    """A timestamp header: Unix seconds, or ISO 8601 with an offset."""
    try:
        if value.isdigit():
            return datetime.fromtimestamp(int(value), tz=UTC)
        moment = datetime.fromisoformat(value)
    except (ValueError, OverflowError, OSError):
        raise Unauthorized(f"unreadable {header} {value[:40]!r}") from None
    if moment.utcoffset() is None:
        raise Unauthorized(f"{header} has no UTC offset")
    return moment.astimezone(UTC)
