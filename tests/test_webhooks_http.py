"""`POST /webhooks/<platform>` through the real app and store: every documented answer, with a
JSON body naming the problem, and the store unchanged by anything refused."""

import json
from datetime import UTC, datetime

import pytest

from connector.platforms.zendesk.signature import sign
from connector.storage.events import EventStore
from connector.web import create_app
from tests.support.zendesk import SECRET, fixture, signed

HELPDESK_TOKEN = "helpdesk-url-token-0123456789"


@pytest.fixture
def app(database_url):
    app = create_app(
        test_config={
            "database_url": database_url,
            "server": {"max_body_bytes": 64 * 1024},
            "platforms": {
                "zendesk": {
                    "base_url": "https://acme.zendesk.com",
                    "webhook_secret": SECRET,
                    "credentials": {"email": "a@acme.example", "api_token": "t"},
                },
                "django-helpdesk": {"base_url": "http://127.0.0.1:9", "credentials": {"token": "t"}},
            },
        }
    )
    yield app
    app.extensions["connector"].close()


@pytest.fixture
def client(app):
    return app.test_client()


def stored(app) -> list:
    return EventStore(app.extensions["connector"].engine).list()


def post(client, headers: dict, body: bytes, platform: str = "zendesk", query: str = ""):
    return client.post(f"/webhooks/{platform}{query}", data=body, headers=headers)


@pytest.mark.parametrize(
    "name,kind",
    [
        ("ticket_created", "ticket.created"),
        ("ticket_status_changed__pending", "ticket.status_changed"),
        ("ticket_comment_added__public_agent", "ticket.comment_added"),
        ("ticket_requester_changed", "ticket.requester_changed"),
    ],
)
def test_a_signed_event_is_stored_then_accepted(app, client, name, kind):
    headers, body = fixture(name)
    answer = post(client, signed(headers, body), body)
    assert answer.status_code == 202 and answer.json["kind"] == kind
    (event,) = stored(app)
    assert (event.id, event.kind, event.status, event.body) == (answer.json["event_id"], kind, "pending", body)


def test_a_duplicate_delivery_answers_200_and_is_stored_once(app, client):
    headers, body = fixture("ticket_created")
    first = post(client, signed(headers, body), body)
    again = post(client, signed(headers, body), body)
    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json == {"status": "duplicate", "event_id": first.json["event_id"]}
    assert len(stored(app)) == 1


@pytest.mark.parametrize(
    "change,status,needle",
    [
        (
            lambda h, b: (
                {
                    **h,
                    "x-zendesk-webhook-signature": sign("forged-secret", h["x-zendesk-webhook-signature-timestamp"], b),
                },
                b,
            ),
            401,
            "signature",
        ),
        (lambda h, b: ({k: v for k, v in h.items() if k != "x-zendesk-webhook-signature"}, b), 401, "signature"),
        (lambda h, b: (signed(h, b, at=datetime(2026, 1, 1, tzinfo=UTC)), b), 401, "timestamp"),
        (lambda h, b: (h, b.replace(b"KOMPAS-3D crashes", b"KOMPAS-3D works!!")), 401, "signature"),
        (lambda h, b: ({**h, "content-type": "text/plain"}, b), 400, "content type"),
        (lambda h, b: (signed(h, b"{not json"), b"{not json"), 400, "not valid JSON"),
        (
            lambda h, b: (
                signed(h, b'{"type": "zen:event-type:ticket.created"}'),
                b'{"type": "zen:event-type:ticket.created"}',
            ),
            400,
            "invalid",
        ),
    ],
)
def test_refusals_name_the_problem_and_store_nothing(app, client, change, status, needle):
    headers, body = fixture("ticket_created")
    headers, body = change(signed(headers, body), body)
    answer = post(client, headers, body)
    assert answer.status_code == status and needle in json.dumps(answer.json)
    assert stored(app) == []


def test_schema_violations_list_their_places(client):
    headers, body = fixture("malformed__no_detail")
    answer = post(client, signed(headers, body), body)
    assert answer.status_code == 400 and any("detail" in p for p in answer.json["problems"])


def test_an_oversized_body_is_413_before_it_is_read(app, client):
    headers, body = fixture("ticket_created")
    big = body[:-2] + b', "padding": "' + b"x" * (70 * 1024) + b'"}'
    answer = post(client, signed(headers, big), big)
    assert answer.status_code == 413 and "limit" in answer.json["error"]
    assert stored(app) == []


def test_unknown_or_unconfigured_platforms_are_404(client):
    headers, body = fixture("ticket_created")
    for platform in ("myspace", "django-helpdesk"):  # django-helpdesk has no secret: not enabled
        answer = post(client, signed(headers, body), body, platform=platform, query=f"?token={HELPDESK_TOKEN}")
        assert answer.status_code == 404 and platform in answer.json["error"]


def test_other_paths_and_methods_answer_json(client):
    assert client.get("/webhooks/zendesk").status_code == 405
    assert client.get("/nowhere").json["error"]


def test_health_and_metrics(app, client):
    headers, body = fixture("ticket_created")
    post(client, signed(headers, body), body)
    post(client, {**signed(headers, body), "x-zendesk-webhook-signature": "bad"}, body)
    health = client.get("/healthz")
    assert health.status_code == 200 and health.json["events"] == {"pending": 1, "processing": 0, "failed": 0}
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'connector_events_received_total{outcome="accepted",platform="zendesk"} 1.0' in metrics
    assert 'connector_events_received_total{outcome="Unauthorized",platform="zendesk"} 1.0' in metrics
