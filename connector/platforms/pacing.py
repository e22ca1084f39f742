"""A platform's API with the pacing bulk work needs (a KB sync, portal registration, alerts):
requests spaced evenly under the account's limit (each adapter's `options.api_requests_per_minute`),
rate limits waited out (exactly Retry-After) and transient failures retried, so bulk work runs
under the limit instead of bouncing off 429s. Shared by the Zendesk, Jira Service Management and
Freshdesk adapters; the webhook worker's own calls are not paced (it reschedules on a 429).

Docs: https://developer.zendesk.com/api-reference/introduction/rate-limits/,
https://developer.atlassian.com/cloud/jira/platform/rate-limiting/, https://developers.freshdesk.com/api/#ratelimit
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from connector.platforms.client import PlatformClient, may_wait


class Pacer:
    """Spaces requests evenly at `per_minute` (None: no pacing), so a bulk run stays under the
    account's limit instead of bouncing off 429s."""

    def __init__(self, per_minute: float | None, clock: Callable[[], float], sleep: Callable[[float], None]) -> None:
        self.interval = 60.0 / per_minute if per_minute else 0.0
        self.clock, self.sleep = clock, sleep
        self.next_at = 0.0

    def wait(self) -> None:
        """Sleep until the next request may go (never inside an event's lease: a ticket's few
        calls go at once, and a 429 returns the event to the queue instead)."""
        if not self.interval or not may_wait():
            return
        now = self.clock()
        if self.next_at > now:
            self.sleep(self.next_at - now)
            now = self.next_at
        self.next_at = now + self.interval


class PacedApi:
    """One API client, every request paced and patient; counts its requests."""

    def __init__(
        self,
        client: PlatformClient,
        per_minute: float | None,
        sleep: Callable[[float], None],
        clock: Callable[[], float],
    ) -> None:
        self.client, self.sleep, self.clock = client, sleep, clock
        self.pacer = Pacer(per_minute, clock, sleep)
        self.requests = 0

    def call(self, method: str, path: str, payload: Any = None, expect: tuple[int, ...] = (200, 201, 204)) -> Any:
        """One request, paced; rate limits waited out (Retry-After) and transient errors retried."""
        self.pacer.wait()
        self.requests += 1
        return self.client.call_patiently(method, path, payload, expect, sleep=self.sleep)
