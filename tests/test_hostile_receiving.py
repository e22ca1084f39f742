"""Hostile webhook bodies, correctly signed, against every platform's receiving function and the
event store behind it (SQLite and PostgreSQL): each is accepted as an event the store keeps, or
refused with a 4xx `ConnectorError` naming the problem. Never another exception, never a 500.

Fuzzed with hypothesis on a fixed budget (JSON shapes mutated from each platform's own sample
body, and raw bytes); the cases it found are kept in tests/fixtures/hostile/receiving/ and run
through the real HTTP app every time (test_the_corpus_is_refused_over_http)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connector.core.errors import ConnectorError
from connector.platforms import ADAPTERS
from connector.platforms.receiving import receive
from connector.storage.events import EventStore
from connector.web import create_app
from tests.support.contract import contract_adapter, sample_ticket
from tests.support.hostile import budget, encoded, mutated

SECRET = "hostile-input-signing-secret-0123456789"
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
LIMIT = 1 << 20
CORPUS = Path(__file__).parent / "fixtures" / "hostile" / "receiving"


def adapter_of(cls):
    """The platform's adapter configured as its contract fixtures configure it."""
    return contract_adapter(cls.name)


def delivered(adapter, body: bytes, delivery_id: str = "hostile-1"):
    headers, token = adapter.sign(body, adapter.settings.webhook_secret, NOW, delivery_id)
    return {"Content-Type": "application/json", **headers}, token


def outcome(adapter, store: EventStore, body: bytes, delivery_id: str = "hostile-1") -> str:
    """'stored' or the 4xx refusal; anything else fails the test."""
    headers, token = delivered(adapter, body, delivery_id)
    try:
        event = receive(adapter, headers, body, token, adapter.settings.webhook_secret, NOW, LIMIT)
    except ConnectorError as exc:
        assert 400 <= exc.http_status < 500 and str(exc), exc
        return f"{exc.http_status}"
    store.add(event, body)  # the store keeps whatever receiving lets through
    return "stored"


@pytest.mark.parametrize("cls", ADAPTERS, ids=lambda c: c.name)
def test_mutated_bodies_are_stored_or_refused(cls, engine):
    adapter, store = adapter_of(cls), EventStore(engine)
    sample = json.loads(adapter.sample_body(sample_ticket(cls.name), NOW))

    @budget(150)
    @given(st.data())
    def check(data):
        doc = data.draw(mutated(sample))
        outcome(adapter, store, encoded(data.draw, doc), data.draw(st.sampled_from(["d1", "x" * 300, "d\x00"])))

    check()


@pytest.mark.parametrize("cls", ADAPTERS, ids=lambda c: c.name)
def test_raw_bytes_are_stored_or_refused(cls, engine):
    adapter, store = adapter_of(cls), EventStore(engine)
    sample = adapter.sample_body(sample_ticket(cls.name), NOW)

    @budget(100)
    @given(
        st.one_of(
            st.binary(max_size=300),
            st.builds(lambda cut, junk: sample[:cut] + junk, st.integers(0, len(sample)), st.binary(max_size=40)),
        )
    )
    def check(body):
        outcome(adapter, store, body)

    check()


def corpus() -> list[dict]:
    return [json.loads(p.read_text(encoding="utf-8")) | {"name": p.stem} for p in sorted(CORPUS.glob("*.json"))]


CREDENTIALS = {"zendesk": {"email": "a@acme.example", "api_token": "t"}, "django-helpdesk": {"token": "t"}}


@pytest.fixture
def app(database_url):
    app = create_app(
        test_config={
            "database_url": database_url,
            "platforms": {
                name: {"base_url": "http://127.0.0.1:9", "webhook_secret": SECRET, "credentials": credentials}
                for name, credentials in CREDENTIALS.items()
            },
        }
    )
    yield app
    app.extensions["connector"].close()


@pytest.mark.parametrize("case", corpus(), ids=lambda c: c["name"])
def test_the_corpus_is_refused_over_http(app, case):
    """Each found case, signed for real, through the app: the documented 4xx, JSON naming the
    problem, nothing stored."""
    cls = next(c for c in ADAPTERS if c.name == case["platform"])
    adapter = adapter_of(cls)
    body = case["body"].encode("utf-8", "surrogatepass") if "body" in case else bytes.fromhex(case["body_hex"])
    headers, token = adapter.sign(body, SECRET, datetime.now(UTC), case.get("delivery_id", "corpus-1"))
    query = f"?token={token}" if token else ""
    answer = app.test_client().post(
        f"/webhooks/{cls.name}{query}", data=body, headers={"Content-Type": "application/json", **headers}
    )
    assert answer.status_code == case["status"], answer.get_data(as_text=True)
    assert case["needle"] in json.dumps(answer.json)
    stored = EventStore(app.extensions["connector"].engine).list()
    assert stored == [] if case["status"] >= 400 else [e.body for e in stored] == [body]
