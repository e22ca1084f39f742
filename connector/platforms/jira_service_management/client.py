"""Jira's HTTP client: the shared one, plus Jira's second way of saying when to come back.

Jira's 429 carries `Retry-After` (seconds) and `X-RateLimit-Reset` (ISO 8601, `yyyy-MM-ddTHH:mmZ`);
https://developer.atlassian.com/cloud/jira/platform/rate-limiting/. When a 429 (or a 503) has no
`Retry-After` but names the reset, the reset becomes the Retry-After the worker waits for, so the
event is tried again exactly when Jira's budget is back instead of after a guessed backoff.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from connector.platforms.client import PlatformClient, Response

RESET_HEADER = "x-ratelimit-reset"


def seconds_until(reset: str, now: datetime) -> float | None:
    """Seconds from `now` to an `X-RateLimit-Reset` moment (0 when past); None when unreadable."""
    try:
        moment = datetime.fromisoformat(reset.strip())
    except ValueError:
        return None
    if moment.utcoffset() is None:
        return None
    return max(0.0, (moment - now).total_seconds())


class JiraClient(PlatformClient):
    """`PlatformClient` whose rate-limited answers always say when to come back, if Jira said so."""

    def _request(self, method: str, url: str, headers: Mapping[str, str], body: bytes | None) -> Response:
        """The shared network call; a 429/503 naming only its reset gets the matching Retry-After."""
        response = super()._request(method, url, headers, body)
        if (
            response.status in (429, 503)
            and "retry-after" not in response.headers
            and response.headers.get(RESET_HEADER)
        ):
            wait = seconds_until(response.headers[RESET_HEADER], datetime.now(UTC))
            if wait is not None:
                response = Response(response.status, {**response.headers, "retry-after": f"{wait:.0f}"}, response.body)
        return response
