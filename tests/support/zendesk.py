"""Zendesk for the tests that share it: the API fixtures' answers (tests/fixtures/zendesk/api) and
the adapter that reads them, the signed webhook deliveries (tests/fixtures/zendesk/*.json), the
registry of ticket 123's customer, and the in-memory Zendesk (tests/support/zendesk_stub.py)
behind `responses` callbacks."""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import responses
from responses import matchers

from connector.config.settings import PlatformSettings
from connector.platforms.zendesk import ZendeskAdapter
from connector.platforms.zendesk.signature import sign
from tests.support.stub_platform import FIELDS
from tests.support.zendesk_stub import FakeZendesk

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "zendesk"
API = FIXTURES / "api"
# the customer of ticket 123's requester, with a warranty (also used by benchmarks/pipeline.py)
REGISTRY_FILE = FIXTURES / "registry.json"

# -- the API -----------------------------------------------------------------------------------

BASE = "https://acme-support.zendesk.com"
AUTH = "Basic " + base64.b64encode(b"connector@ascon.example/token:t0k3n-for-tests").decode()


def answer(name: str) -> dict:
    """A documented API answer from tests/fixtures/zendesk/api."""
    return json.loads((API / f"{name}.json").read_text())


def settings(**changes) -> PlatformSettings:
    base: dict[str, Any] = dict(
        name="zendesk",
        base_url=BASE,
        webhook_secret="dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ==",
        credentials={"email": "connector@ascon.example", "api_token": "t0k3n-for-tests"},
        fields=FIELDS,
        tag_prefix="sla_",
    )
    base.update(changes)
    return PlatformSettings(**base)


def adapter(**changes) -> ZendeskAdapter:
    s = settings(**changes)
    return ZendeskAdapter(s, ZendeskAdapter.client_for(s))


def get(path: str, body: dict, params: dict | None = None, status: int = 200, headers: dict | None = None):
    """An expected GET, with our auth header and (if given) exactly these query parameters."""
    match = [matchers.header_matcher({"Authorization": AUTH, "Accept": "application/json"})]
    if params is not None:
        match.append(matchers.query_param_matcher(params))
    return responses.get(f"{BASE}{path}", json=body, status=status, headers=headers, match=match)


def expect_ticket_123():
    """The three reads of ticket 123: the ticket with its users, then two pages of audits."""
    get("/api/v2/tickets/123.json", answer("ticket_123"), {"include": "users"})
    get("/api/v2/tickets/123/audits.json", answer("ticket_123_audits"), {"include": "users", "page[size]": "100"})
    get(
        "/api/v2/tickets/123/audits.json",
        answer("ticket_123_audits_page2"),
        {"include": "users", "page[size]": "100", "page[after]": answer("ticket_123_audits")["meta"]["after_cursor"]},
    )


def serve(fake: FakeZendesk, methods: tuple[str, ...] = ("GET", "POST", "PUT"), retry_after: str = "37"):
    """Route the API calls of these methods to the in-memory Zendesk (each must be called at
    least once: the mocks are strict; a method left out fails the test if it is called)."""

    def callback(request):
        body = json.loads(request.body) if request.body else None
        status, payload = fake.handle(request.method, request.url, body)
        headers = {"Retry-After": retry_after} if status == 429 else {}
        return status, headers, json.dumps(payload)

    for method in methods:
        responses.add_callback(
            method, re.compile(re.escape(BASE) + r"/api/v2/.*"), callback=callback, content_type="application/json"
        )


# -- webhooks ----------------------------------------------------------------------------------

SECRET = "dGhpc19pc19hX3Rlc3Rfc2lnbmluZ19zZWNyZXQ="  # the webhooks' signing secret


def fixture(name: str) -> tuple[dict, bytes]:
    """A recorded delivery: its headers and its body."""
    return json.loads((FIXTURES / f"{name}.headers.json").read_text()), (FIXTURES / f"{name}.json").read_bytes()


def signed(headers: dict, body: bytes, secret: str = SECRET, at: datetime | None = None) -> dict:
    """The fixture's headers, signed now (or at `at`) with `secret`."""
    stamp = (at or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        **headers,
        "x-zendesk-webhook-signature-timestamp": stamp,
        "x-zendesk-webhook-signature": sign(secret, stamp, body),
    }
