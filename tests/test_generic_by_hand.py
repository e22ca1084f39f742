"""An in-house tracker with no preset, configured exactly as the "By hand" example of
webhooks/generic/README.md: a signed delivery in, its two reads, the PATCH of what changed and the
note out (strict `responses`), then a later delivery writes only the values that changed."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import responses
from responses import matchers

from connector.pipeline.process import Processor
from connector.pipeline.worker import Worker
from connector.storage.registry_import import import_registry
from connector.web import create_app

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = re.findall(r"```toml\n(.*?)```", (ROOT / "webhooks/generic/README.md").read_text(encoding="utf-8"), re.S)[2]
BASE = "https://tracker.example.com"
SECRET = "in-house-tracker-webhook-secret-01"
AUTH = {"Authorization": "Bearer in-house-api-key", "Accept": "application/json"}
TICKET: dict[str, Any] = {
    "id": 501,
    "created_at": "2024-05-13T10:00:00+03:00",
    "requester_id": 31,
    "company_id": "vektor",
    "status": "new",
    "first_reply_at": None,
    "tags": [],
    "fields": {
        "product": "kompas_3d",
        "kind": "error",
        "sla_tier": None,
        "sla_first_response_due": None,
        "sla_resolution_due": None,
    },
}
USER = {"id": 31, "email": "Pavel.Ivanov@kb-vektor.example"}


@pytest.fixture
def runtime(tmp_path, monkeypatch):
    monkeypatch.setenv("TRACKER_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("TRACKER_API_KEY", "in-house-api-key")
    doc = tomllib.loads(EXAMPLE)
    doc["database_url"] = f"sqlite:///{tmp_path / 'c.db'}"
    app = create_app(test_config=doc)
    runtime = app.extensions["connector"]
    import_registry(ROOT / "tests/fixtures/generic/registry.json", runtime.engine)
    runtime.app = app
    yield runtime
    runtime.close()


def deliver(runtime, delivery_id):
    body = json.dumps({"event": "created", "ticket": {"id": 501, "updated_at": "2024-05-13T10:00:01+03:00"}}).encode()
    stamp = str(int(time.time()))
    signature = hmac.new(SECRET.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    answer = runtime.app.test_client().post(
        "/webhooks/generic",
        data=body,
        headers={
            "Content-Type": "application/json",
            "X-Timestamp": stamp,
            "X-Signature": f"sha256={signature}",
            "X-Delivery": delivery_id,
        },
    )
    assert answer.status_code == 202, answer.json
    assert answer.json["kind"] == "ticket.created"
    return answer.json["event_id"]


def process(runtime, ticket, writes):
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        for path, answer in (("/api/tickets/501", ticket), ("/api/users/31", USER)):
            mock.get(BASE + path, json=answer, match=[matchers.header_matcher(AUTH)])
        for method, path, body in writes:
            mock.add(
                method, BASE + path, json={}, match=[matchers.json_params_matcher(body), matchers.header_matcher(AUTH)]
            )
        processor = Processor(
            runtime.engine, runtime.adapters, runtime.rules, clock=lambda: datetime(2024, 5, 13, 8, tzinfo=UTC)
        )
        assert Worker(runtime.store, processor, runtime.config.worker, runtime.metrics).run_once()


def test_an_in_house_tracker_configured_by_hand(runtime):
    first = deliver(runtime, "d-1")
    process(
        runtime,
        TICKET,
        [
            (
                "PATCH",
                "/api/tickets/501",
                {
                    "fields": {
                        "sla_tier": "warranty",
                        "sla_first_response_due": "2024-05-13T18:00:00+03:00",
                        "sla_resolution_due": "2024-05-17T18:00:00+03:00",
                    }
                },
            ),
            (
                "POST",
                "/api/tickets/501/notes",
                {
                    "text": "Support tier: warranty. first response due 2024-05-13T18:00:00+03:00, "
                    "resolution due 2024-05-17T18:00:00+03:00",
                    "internal": True,
                },
            ),
        ],
    )
    event = runtime.store.get(first)
    assert event.status == "done" and event.result["written"] is True, event.last_error
    assert event.result["reasons"][0].startswith(
        "customer KB Vektor (C-VEKTOR) identified by contact e-mail pavel.ivanov@kb-vektor.example"
    )
    # the ticket now waits on the customer (so the resolution clock is paused and has no due moment:
    # the field is emptied, null), and someone emptied the tier text: only those two are written
    written = {
        **TICKET,
        "status": "waiting_for_customer",
        "fields": {
            **TICKET["fields"],
            "sla_tier": "",
            "sla_first_response_due": "2024-05-13T15:00:00Z",
            "sla_resolution_due": "2024-05-17T15:00:00Z",
        },
    }
    second = deliver(runtime, "d-2")
    process(
        runtime,
        written,
        [
            ("PATCH", "/api/tickets/501", {"fields": {"sla_tier": "warranty", "sla_resolution_due": None}}),
            (
                "POST",
                "/api/tickets/501/notes",
                {"text": "Support tier: warranty. first response due 2024-05-13T18:00:00+03:00", "internal": True},
            ),
        ],
    )
    assert runtime.store.get(second).result["changed"] == ["resolution_due", "tier"]
