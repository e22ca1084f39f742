"""PlatformClient.call_patiently: the bulk path's waiting on rate limits and transient errors."""

from __future__ import annotations

import logging

import pytest
import responses

from connector.core.errors import PlatformError, PlatformRejected
from connector.platforms.client import PlatformClient

BASE = "https://acme.example"


def client_and_waits():
    waits: list[float] = []
    return PlatformClient(BASE), waits


@responses.activate(assert_all_requests_are_fired=True)
def test_a_429_waits_exactly_its_retry_after_then_succeeds(caplog):
    responses.add("GET", f"{BASE}/x", status=429, headers={"Retry-After": "37"}, json={})
    responses.add("GET", f"{BASE}/x", status=200, json={"ok": True})
    client, waits = client_and_waits()
    with caplog.at_level(logging.WARNING):
        assert client.call_patiently("GET", "/x", sleep=waits.append) == {"ok": True}
    assert waits == [37.0]
    assert "GET /x: rate limited; again in 37.0 s (attempt 2 of 8)" in caplog.text  # the user sees why it waits


@responses.activate(assert_all_requests_are_fired=True)
def test_transient_errors_back_off_doubling_and_the_last_error_is_raised():
    for _ in range(4):
        responses.add("PUT", f"{BASE}/y", status=503, body="down")
    client, waits = client_and_waits()
    with pytest.raises(PlatformError, match="HTTP 503: down"):
        client.call_patiently("PUT", "/y", {"a": 1}, attempts=4, sleep=waits.append, backoff=1.0)
    assert waits == [1.0, 2.0, 4.0] and len(responses.calls) == 4


@responses.activate(assert_all_requests_are_fired=True)
def test_a_rejection_is_not_retried():
    responses.add("POST", f"{BASE}/z", status=422, json={"error": "RecordInvalid"})
    client, waits = client_and_waits()
    with pytest.raises(PlatformRejected, match="HTTP 422"):
        client.call_patiently("POST", "/z", {}, sleep=waits.append)
    assert waits == [] and len(responses.calls) == 1
