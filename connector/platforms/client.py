"""The HTTP client adapters use: one network method, `_request`, and error mapping.

429 becomes `PlatformError` with the platform's Retry-After; 5xx, timeouts and connection
errors are transient `PlatformError`s; other 4xx are `PlatformRejected` (retrying won't help).
Retrying and backing off is the worker's job, not the client's.

Inside an event's lease (`within_lease`, set by the worker around processing) nothing waits:
`call_patiently` makes one attempt, and pacing and bulk-job polling do not sleep (`may_wait()`
says so to adapters), so a 429 or a 5xx ends the attempt at once and the worker returns the
event to the queue with its Retry-After or backoff, durably. Every call made inside a lease
carries `X-Connector-Event: <event id>` (for the platform's logs, and the tests' stub platform).
Once the worker's heartbeat finds an event's lease lost (`lease_lost`: another worker may hold
the event now), the calls made for it may still read but no longer write: a write would race
the worker that took the event over.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import requests

from connector.core.errors import PlatformError, PlatformRejected

log = logging.getLogger(__name__)
EVENT_HEADER = "X-Connector-Event"
_lease: ContextVar[str | None] = ContextVar("connector_platform_lease", default=None)
_lost: set[str] = set()  # events of this process whose lease the heartbeat found taken
_lost_lock = threading.Lock()


@contextmanager
def within_lease(event: str) -> Iterator[None]:
    """Platform calls of this thread are made inside the lease of `event`: none may wait."""
    token = _lease.set(event)
    try:
        yield
    finally:
        _lease.reset(token)


def lease_lost(event: str) -> None:
    """`event`'s lease was not renewed in time: its calls may no longer write (until released)."""
    with _lost_lock:
        _lost.add(event)


def lease_released(event: str) -> None:
    """`event` is no longer processed by this process: forget that its lease was lost."""
    with _lost_lock:
        _lost.discard(event)


def may_wait() -> bool:
    """Whether a call may sleep (pacing, Retry-After, job polls): not inside an event's lease."""
    return _lease.get() is None


@dataclass(frozen=True)
class Response:
    """What `_request` returns: status, lower-cased headers, body bytes."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        """The body as JSON (an empty body is None)."""
        return json.loads(self.body) if self.body.strip() else None


def retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as seconds: delta-seconds or an HTTP date (RFC 9110)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds())
    except (TypeError, ValueError):
        return None


class PlatformClient:
    """A base URL, default headers and auth; `call` maps HTTP outcomes to connector errors."""

    def __init__(
        self,
        base_url: str,
        headers: Mapping[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float = 10.0,
        on_response: Callable[[str, int | str], None] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.headers = dict(headers or {})
        self.auth = auth
        self.timeout = timeout
        self.on_response = on_response  # metrics hook: (platform path, HTTP status, or timeout / unreachable)
        self.session = requests.Session()
        # proxies from the environment, read once: requests would re-read os.environ on every call
        self.session.proxies = requests.utils.get_environ_proxies(self.base_url)
        self.session.trust_env = False

    def _request(self, method: str, url: str, headers: Mapping[str, str], body: bytes | None) -> Response:
        """The one network call (a test or another transport replaces only this)."""
        r = self.session.request(
            method, url, headers=dict(headers), data=body, auth=self.auth, timeout=self.timeout, allow_redirects=False
        )
        return Response(r.status_code, {k.lower(): v for k, v in r.headers.items()}, r.content)

    def call(self, method: str, path: str, payload: Any = None, expect: tuple[int, ...] = (200, 201, 204)) -> Any:
        """Call `path` (relative to the base URL) with a JSON payload; the JSON answer."""
        headers = {"Accept": "application/json", **self.headers}
        if (event := _lease.get()) is not None:
            headers[EVENT_HEADER] = event
            if method != "GET" and event in _lost:
                raise PlatformError(
                    f"{method} {path}: not sent: the lease of event {event} was lost (another worker may be "
                    "processing it); nothing more is written for it here"
                )
        body = None
        if payload is not None:
            headers["Content-Type"] = "application/json"
            body = json.dumps(payload).encode()
        url = f"{self.base_url}{path}"
        try:
            response = self._request(method, url, headers, body)
        except requests.Timeout:
            self._count(path, "timeout")
            raise PlatformError(f"{method} {path}: timed out after {self.timeout:g} s") from None
        except requests.RequestException as exc:
            self._count(path, "unreachable")
            host = url.split("/")[2] if "//" in url else url
            raise PlatformError(f"{method} {path}: cannot reach {host} ({type(exc).__name__})") from None
        self._count(path, response.status)
        if response.status in expect:
            try:
                return response.json()
            except ValueError:
                raise PlatformError(f"{method} {path}: answer is not JSON", response.status) from None
        detail = response.body[:200].decode("utf-8", "replace")
        if response.status == 429:
            raise PlatformError(
                f"{method} {path}: rate limited", 429, retry_after_seconds(response.headers.get("retry-after"))
            )
        if response.status >= 500 or response.status in (408, 409, 423):
            raise PlatformError(f"{method} {path}: HTTP {response.status}: {detail}", response.status)
        raise PlatformRejected(f"{method} {path}: HTTP {response.status}: {detail}", response.status)

    def call_patiently(
        self,
        method: str,
        path: str,
        payload: Any = None,
        expect: tuple[int, ...] = (200, 201, 204),
        attempts: int = 8,
        sleep: Callable[[float], None] = time.sleep,
        backoff: float = 1.0,
        cap: float = 60.0,
    ) -> Any:
        """`call`, waiting out rate limits (exactly Retry-After, or `backoff` doubling when the
        platform gives none) and retrying transient failures, at most `attempts` times; for bulk
        work (a KB sync) that runs outside the worker's own retry loop. The last error is raised.
        Inside an event's lease it is `call`: the worker's queue does the waiting."""
        if not may_wait():
            attempts = 1
        for attempt in range(1, attempts + 1):
            try:
                return self.call(method, path, payload, expect)
            except PlatformError as exc:
                if not exc.transient or attempt == attempts:
                    raise
                wait = exc.retry_after if exc.retry_after is not None else min(cap, backoff * 2 ** (attempt - 1))
                log.warning("%s; again in %.1f s (attempt %d of %d)", exc, wait, attempt + 1, attempts)
                sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    def _count(self, path: str, status: int | str) -> None:
        if self.on_response:
            self.on_response(path, status)
