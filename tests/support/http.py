"""`responses` held strict: every mock of the suite is made with assert_all_requests_are_fired=True
(tests/test_suite_rules.py checks it), and a call that matches nothing registered fails the test
(the autouse fixture in tests/conftest.py, through `unexpected_calls`), even where the code under
test catches the ConnectionError that `responses` raises for it (a worker that retries, say)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import responses
from responses import registries


@contextmanager
def unexpected_calls() -> Iterator[list[str]]:
    """While open, every request that no registered response matches, as "METHOD URL", in any
    `responses` mock (the registry of each is a FirstMatchRegistry unless a test says otherwise)."""
    found: list[str] = []
    find = registries.FirstMatchRegistry.find

    def recording(self, request):
        match, reasons = find(self, request)
        if match is None:
            found.append(f"{request.method} {request.url}")
        return match, reasons

    registries.FirstMatchRegistry.find = recording  # type: ignore[method-assign]
    try:
        yield found
    finally:
        registries.FirstMatchRegistry.find = find  # type: ignore[method-assign]


def all_fired_then_reset(mock: responses.RequestsMock = responses.mock) -> None:
    """Between two phases of a test: every response registered so far was called (as the mock
    asserts at its end, which a reset would skip), then a clean slate for the next phase."""
    unfired = [f"{r.method} {r.url}" for r in mock.registered() if not r.call_count]
    assert not unfired, f"registered but never called: {unfired}"
    mock.reset()
