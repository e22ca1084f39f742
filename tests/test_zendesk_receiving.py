"""Zendesk webhooks in: signature checks, the JSON Schema and parsing, table-driven over the
fixtures in tests/fixtures/zendesk/ (bodies shaped as Zendesk's ticket-event reference shows,
headers apart, signed with the test secret below)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from connector.config.settings import PlatformSettings
from connector.core.errors import BadInput, Unauthorized
from connector.core.events import Delivery
from connector.platforms import adapter_class
from connector.platforms.zendesk import ZendeskAdapter
from connector.platforms.zendesk.signature import sign

FIXTURES = Path(__file__).parent / "fixtures" / "zendesk"
SCHEMA = Path(__file__).parent.parent / "schemas" / "webhook.zendesk.schema.json"
SECRET = "dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ=="  # Zendesk's documentation example secret

# fixture -> (kind, ticket id, delivery id, occurred at)
EVENTS = {
    "ticket_created": ("ticket.created", "123", "8350205501", "2024-05-13T07:00:00.412+00:00"),
    "ticket_status_changed__pending": (
        "ticket.status_changed",
        "123",
        "8350205502",
        "2024-05-13T10:15:03.123456+00:00",
    ),
    "ticket_status_changed__solved": ("ticket.status_changed", "123", "8350205503", "2024-05-15T12:00:00+00:00"),
    "ticket_status_changed__reopened": ("ticket.status_changed", "123", "8350205504", "2024-05-16T08:30:00+00:00"),
    "ticket_comment_added__public_agent": ("ticket.comment_added", "123", "8350205505", "2024-05-13T10:15:03+00:00"),
    "ticket_comment_added__private_note": ("ticket.comment_added", "123", "8350205506", "2024-05-13T08:00:00+00:00"),
    "ticket_comment_added__public_requester": (
        "ticket.comment_added",
        "123",
        "8350205507",
        "2024-05-13T09:30:00+00:00",
    ),
    "ticket_requester_changed": ("ticket.requester_changed", "123", "8350205508", "2024-05-13T11:00:00+00:00"),
    "ticket_organization_changed": ("ticket.organization_changed", "123", "8350205509", "2024-05-13T11:00:01+00:00"),
    "ticket_custom_field_changed__product": (
        "ticket.custom_field_changed",
        "123",
        "8350205510",
        "2024-05-13T07:20:00+00:00",
    ),
    "unknown_event": ("ticket.priority_changed", "123", "8350205511", "2024-05-13T12:00:00+00:00"),
}
SCHEMA_INVALID = [
    "malformed__no_detail",
    "malformed__detail_without_id",
    "malformed__type_without_prefix",
    "malformed__ticket_id_not_numeric",
    "malformed__missing_top_level_keys",
]
EVERY_BODY = [*EVENTS, "user_active_changed__not_a_ticket", *SCHEMA_INVALID]


def delivery(name: str, **header_changes: str | None) -> Delivery:
    """A fixture delivery as the web layer builds it (lower-cased headers, raw bytes)."""
    body_file = FIXTURES / f"{name}.json"
    if not body_file.exists():
        body_file = FIXTURES / f"{name}.txt"
    headers = json.loads((FIXTURES / f"{name}.headers.json").read_text())
    for key, value in header_changes.items():
        header = key.replace("_", "-")
        if value is None:
            headers.pop(header, None)
        else:
            headers[header] = value
    return Delivery({k.lower(): v for k, v in headers.items()}, body_file.read_bytes())


def sent_at(d: Delivery) -> datetime:
    return datetime.fromisoformat(d.header("x-zendesk-webhook-signature-timestamp"))


def adapter(secret: str = SECRET) -> ZendeskAdapter:
    return ZendeskAdapter(PlatformSettings(name="zendesk", webhook_secret=secret))


def test_the_registry_knows_zendesk():
    assert adapter_class("zendesk") is ZendeskAdapter
    assert ZendeskAdapter.schema_name() == "webhook.zendesk.schema.json"


def test_signing_follows_the_documented_formula():
    """base64(HMACSHA256(TIMESTAMP + BODY)) with the secret as the key, as Zendesk documents it."""
    import base64
    import hashlib
    import hmac

    body, stamp = b'{"say": "hello"}', "2021-07-25T10:00:00Z"
    want = base64.b64encode(hmac.new(SECRET.encode(), stamp.encode() + body, hashlib.sha256).digest()).decode()
    assert sign(SECRET, stamp, body) == want


# -- verify --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [*EVERY_BODY, "malformed__not_json"])
def test_every_fixture_delivery_is_genuinely_signed(name):
    d = delivery(name)
    adapter().verify(d, SECRET, sent_at(d) + timedelta(seconds=2))  # no exception


@pytest.mark.parametrize("offset", [timedelta(minutes=-5), timedelta(0), timedelta(minutes=5)])
def test_timestamps_within_five_minutes_either_way_pass(offset):
    d = delivery("ticket_created")
    adapter().verify(d, SECRET, sent_at(d) + offset)


FORGERIES: dict[str, tuple[dict[str, str], timedelta]] = {
    "stale: replayed 6 minutes later": (dict(), timedelta(minutes=6)),
    "from the future: 6 minutes ahead": (dict(), timedelta(minutes=-6)),
    "forged signature": (
        dict(x_zendesk_webhook_signature="EiqWE3SXTPQpPulBV6OSuuGziIishZNc1VwNZYqZrHU="),
        timedelta(0),
    ),
    "signature not base64": (dict(x_zendesk_webhook_signature="not a signature ☃"), timedelta(0)),
    "timestamp changed (re-stamped replay)": (
        dict(x_zendesk_webhook_signature_timestamp="2024-05-13T07:00:01Z"),
        timedelta(0),
    ),
    "signature header missing": (dict(x_zendesk_webhook_signature=None), timedelta(0)),
    "timestamp header missing": (dict(x_zendesk_webhook_signature_timestamp=None), timedelta(0)),
    "timestamp unreadable": (dict(x_zendesk_webhook_signature_timestamp="yesterday"), timedelta(0)),
    "timestamp without offset": (dict(x_zendesk_webhook_signature_timestamp="2024-05-13T07:00:00"), timedelta(0)),
    "empty signature": (dict(x_zendesk_webhook_signature=""), timedelta(0)),
}


@pytest.mark.parametrize("case", sorted(FORGERIES))
def test_forged_stale_or_incomplete_deliveries_are_refused(case):
    changes, skew = FORGERIES[case]
    d = delivery("ticket_created", **changes)
    with pytest.raises(Unauthorized):
        adapter().verify(d, SECRET, datetime(2024, 5, 13, 7, 0, tzinfo=UTC) + skew)


def test_a_tampered_body_is_refused():
    d = delivery("ticket_created")
    tampered = Delivery(d.headers, d.body.replace(b'"123"', b'"124"'))
    with pytest.raises(Unauthorized, match="does not match"):
        adapter().verify(tampered, SECRET, sent_at(d))


@pytest.mark.parametrize("secret", ["", "another-secret-of-enough-length"])
def test_no_secret_or_another_secret_refuses_everything(secret):
    d = delivery("ticket_created")
    with pytest.raises(Unauthorized):
        adapter(secret).verify(d, secret, sent_at(d))


def test_no_secret_configured_refuses_even_an_unsigned_request():
    d = delivery("ticket_created", x_zendesk_webhook_signature=None, x_zendesk_webhook_signature_timestamp=None)
    with pytest.raises(Unauthorized, match="no Zendesk webhook signing secret"):
        adapter("").verify(d, "", sent_at(delivery("ticket_created")))


# -- schema --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def validator() -> Draft202012Validator:
    schema = json.loads(SCHEMA.read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=FormatChecker())


@pytest.mark.parametrize("name", [*EVENTS, "user_active_changed__not_a_ticket"])
def test_documented_payloads_are_schema_valid(validator, name):
    assert list(validator.iter_errors(json.loads(delivery(name).body))) == []


@pytest.mark.parametrize("name", SCHEMA_INVALID)
def test_malformed_payloads_are_schema_invalid(validator, name):
    assert list(validator.iter_errors(json.loads(delivery(name).body)))


def test_unknown_extra_fields_are_allowed(validator):
    doc = json.loads(delivery("ticket_created").body)
    doc["new_vendor_field"] = {"x": 1}
    doc["detail"]["ai_sentiment"] = "calm"
    assert list(validator.iter_errors(doc)) == []


def test_a_cut_off_body_is_not_json():
    with pytest.raises(json.JSONDecodeError):
        json.loads(delivery("malformed__not_json").body)


# -- parse ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(EVENTS))
def test_each_event_parses_into_one_ticket_event(name):
    kind, ticket_id, delivery_id, occurred = EVENTS[name]
    d = delivery(name)
    event = adapter().parse(d, json.loads(d.body))
    assert (event.platform, event.kind, event.ticket_id, event.delivery_id) == ("zendesk", kind, ticket_id, delivery_id)
    assert event.occurred_at == datetime.fromisoformat(occurred)


def test_without_an_invocation_id_the_content_hash_is_the_delivery_id():
    d = delivery("ticket_created", x_zendesk_webhook_invocation_id=None)
    event = adapter().parse(d, json.loads(d.body))
    assert event.delivery_id == d.content_hash and event.delivery_id.startswith("sha256:")


def test_a_retry_keeps_its_invocation_id():
    first, retry = (
        delivery("ticket_created"),
        delivery("ticket_created", x_zendesk_webhook_signature_timestamp="2024-05-13T07:01:00Z"),
    )
    assert (
        adapter().parse(first, json.loads(first.body)).delivery_id
        == adapter().parse(retry, json.loads(retry.body)).delivery_id
    )


def test_an_integer_ticket_id_is_accepted():
    d = delivery("ticket_created")
    doc = json.loads(d.body)
    doc["detail"]["id"] = 123
    assert adapter().parse(d, doc).ticket_id == "123"


@pytest.mark.parametrize("name", ["user_active_changed__not_a_ticket", "malformed__ticket_id_not_numeric"])
def test_non_ticket_events_and_bad_ids_are_bad_input(name):
    d = delivery(name)
    with pytest.raises(BadInput):
        adapter().parse(d, json.loads(d.body))
