"""Receiving generic deliveries through the real HTTP view: the documented Zammad and GLPI
payloads with their real signatures (tests/fixtures/generic/), forgeries of each, and every
hand-configured scheme (HMAC hex/base64 with and without a timestamp, Standard Webhooks, a
shared secret in a header or the URL); hostile ticket ids are refused."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from connector.platforms import standard_webhooks
from connector.web import create_app

FIXTURES = Path(__file__).parent / "fixtures" / "generic"
ZAMMAD_TOKEN = "zammad-fixture-token-3e7a91c2"
GLPI_SECRET = "Gl9x2Qm4Vt7Rk1Zp8Hs3Wd6Yf0Nb5Lc2Jq7Ue4Ta"
SECRET = "a-shared-secret-for-the-tests-0123"
ZAMMAD = {
    "base_url": "https://zammad.test",
    "webhook_secret": ZAMMAD_TOKEN,
    "credentials": {"api_token": "t"},
    "options": {"preset": "zammad"},
}
GLPI = {
    "base_url": "https://glpi.test",
    "webhook_secret": GLPI_SECRET,
    "credentials": {"user_token": "t"},
    "options": {"preset": "glpi", "time_zone": "Europe/Moscow"},
}
HAND: dict[str, Any] = {
    "base_url": "https://tracker.test",
    "webhook_secret": SECRET,
    "options": {
        "event": {"ticket_id": "/ticket/id", "kind": "/action", "delivery_id": "header:X-Delivery"},
        "read": {"ticket": {"path": "/api/tickets/{ticket_id}"}},
        "facts": {"created_at": "ticket/created"},
        "carried": {"tier": "ticket/tier"},
        "write": [{"method": "PATCH", "path": "/api/tickets/{ticket_id}", "body": {"tier": "{tier}"}}],
    },
}


def fixture(name):
    headers = json.loads((FIXTURES / f"{name}.headers.json").read_text(encoding="utf-8"))
    return headers, (FIXTURES / f"{name}.json").read_bytes()


@pytest.fixture
def make_app(migrated_sqlite):
    made: list[Flask] = []

    def make(section, **signature):
        section = json.loads(json.dumps(section))
        if signature:
            section["options"]["signature"] = signature
        app = create_app(
            test_config={"database_url": migrated_sqlite(f"r{len(made)}.db"), "platforms": {"generic": section}}
        )
        made.append(app)
        return app

    yield make
    for app in made:
        app.extensions["connector"].close()


def post(app, headers, body, token=None):
    return app.test_client().post(
        "/webhooks/generic", data=body, headers=headers, query_string={"token": token} if token else None
    )


def stored(app):
    return app.extensions["connector"].store.list()


# -- the documented deliveries, as recorded ------------------------------------------------------


@pytest.mark.parametrize(
    "name,kind,delivery",
    [
        ("zammad_ticket_created", "Support entitlement: ticket created", "2f6a3c1e-8b4d-4e5f-9a7b-0c1d2e3f4a51"),
        ("zammad_article_created", "Support entitlement: article created", "6b7c8d9e-0f1a-4b2c-8d3e-4f5a6b7c8d92"),
    ],
)
def test_zammads_documented_deliveries_are_accepted(make_app, name, kind, delivery):
    app = make_app(ZAMMAD)
    headers, body = fixture(name)
    answer = post(app, headers, body)
    assert answer.status_code == 202, answer.json
    assert answer.json["ticket"] == "81" and answer.json["kind"] == kind
    assert [e.delivery_id for e in stored(app)] == [delivery]


def test_zammads_retry_of_a_delivery_is_a_duplicate(make_app):
    """Zammad retries the same job (same X-Zammad-Delivery) up to 5 times on any non-success."""
    app = make_app(ZAMMAD)
    headers, body = fixture("zammad_ticket_created")
    assert post(app, headers, body).status_code == 202
    again = post(app, headers, body)
    assert again.status_code == 200 and again.json["status"] == "duplicate" and len(stored(app)) == 1


@pytest.mark.parametrize(
    "name,status,message",
    [
        ("zammad_malformed__bad_signature", 401, "signature does not match the body"),
        ("zammad_malformed__empty_ticket", 400, "the body has no ticket id at /ticket/id"),
    ],
)
def test_zammads_malformed_deliveries(make_app, name, status, message):
    app = make_app(ZAMMAD)
    answer = post(app, *fixture(name))
    assert answer.status_code == status and message in answer.json["error"]
    assert stored(app) == []


def test_a_zammad_delivery_without_signature_is_refused(make_app):
    app = make_app(ZAMMAD)
    headers, body = fixture("zammad_ticket_created")
    del headers["x-hub-signature"]
    answer = post(app, headers, body)
    assert answer.status_code == 401 and answer.json["error"] == "missing X-Hub-Signature header"


def glpi(name, content_type=True):
    """A recorded GLPI delivery; GLPI sets no Content-Type, the README has admins add it."""
    headers, body = fixture(name)
    return ({**headers, "Content-Type": "application/json"} if content_type else headers), body


def test_glpis_documented_delivery_is_accepted(make_app):
    app = make_app(GLPI)
    answer = post(app, *glpi("glpi_ticket_created"))
    assert answer.status_code == 202, answer.json
    assert (answer.json["ticket"], answer.json["kind"]) == ("42", "ticket.created")
    assert stored(app)[0].delivery_id == "bcbbfde75ea644a5b5922388f7ca782efbc875d53c9b581aaf3e95931d2b0e6a"


def test_glpis_retry_days_later_is_a_duplicate_not_a_replay(make_app):
    """GLPI resends the stored headers unchanged (the timestamp is the queueing time): the
    preset has no freshness window, and the signature is the delivery id."""
    app = make_app(GLPI)
    headers, body = glpi("glpi_ticket_created")
    assert headers["x-glpi-timestamp"] == "1715583600"  # 2024-05-13: long ago for this test's clock
    assert post(app, headers, body).status_code == 202
    again = post(app, headers, body)
    assert again.status_code == 200 and again.json["status"] == "duplicate"


@pytest.mark.parametrize("name", ["glpi_malformed__bad_signature", "glpi_malformed__signature_without_timestamp"])
def test_glpis_forgeries_are_refused(make_app, name):
    app = make_app(GLPI)
    answer = post(app, *glpi(name))
    assert answer.status_code == 401 and answer.json["error"] == "signature does not match the body"


def test_glpi_without_its_content_type_header_is_told_what_is_missing(make_app):
    app = make_app(GLPI)
    answer = post(app, *glpi("glpi_ticket_created", content_type=False))
    assert answer.status_code == 400 and "content type must be application/json" in answer.json["error"]


def test_glpis_update_event_is_recorded_as_an_update(make_app):
    app = make_app(GLPI)
    headers, body = glpi("glpi_ticket_created")
    body = body.replace(b'"event": "new"', b'"event": "update"')
    stamp = headers["x-glpi-timestamp"]
    headers["x-glpi-signature"] = hmac.new(GLPI_SECRET.encode(), body + stamp.encode(), hashlib.sha256).hexdigest()
    answer = post(app, headers, body)
    assert answer.status_code == 202 and answer.json["kind"] == "ticket.updated"


# -- schemes configured by hand ------------------------------------------------------------------

BODY = json.dumps({"ticket": {"id": 7}, "action": "created"}).encode()
JSON = {"Content-Type": "application/json"}


def mac(algorithm, message, encoding="hex"):
    digest = hmac.new(SECRET.encode(), message, algorithm)
    return digest.hexdigest() if encoding == "hex" else __import__("base64").b64encode(digest.digest()).decode()


def test_hmac_sha256_hex_of_the_raw_body(make_app):
    app = make_app(HAND, scheme="hmac", header="X-Signature")
    good = {**JSON, "X-Signature": mac(hashlib.sha256, BODY), "X-Delivery": "d-1"}
    assert post(app, good, BODY).status_code == 202
    assert post(app, {**good, "X-Signature": good["X-Signature"].upper(), "X-Delivery": "d-2"}, BODY).status_code == 202
    tampered = post(app, {**good, "X-Delivery": "d-3"}, BODY.replace(b"7", b"8"))
    assert tampered.status_code == 401
    assert [e.delivery_id for e in stored(app)] == ["d-2", "d-1"]


def test_hmac_sha512_with_a_prefix(make_app):
    app = make_app(HAND, scheme="hmac", header="X-Signature", algorithm="sha512", prefix="sha512=")
    assert post(app, {**JSON, "X-Signature": "sha512=" + mac(hashlib.sha512, BODY)}, BODY).status_code == 202
    bare = post(app, {**JSON, "X-Signature": mac(hashlib.sha512, BODY)}, BODY)
    assert bare.status_code == 401 and "does not start with 'sha512='" in bare.json["error"]


def test_hmac_base64_over_timestamp_and_body_within_a_tolerance(make_app):
    app = make_app(
        HAND,
        scheme="hmac",
        header="X-Signature",
        encoding="base64",
        timestamp_header="X-Timestamp",
        signed="{timestamp}.{body}",
        tolerance_seconds=300,
    )

    def at(moment, delivery):
        stamp = str(int(moment.timestamp()))
        return {
            **JSON,
            "X-Timestamp": stamp,
            "X-Delivery": delivery,
            "X-Signature": mac(hashlib.sha256, stamp.encode() + b"." + BODY, "base64"),
        }

    now = datetime.now(UTC)
    assert post(app, at(now, "fresh"), BODY).status_code == 202
    stale = post(app, at(now - timedelta(minutes=6), "stale"), BODY)
    assert stale.status_code == 401 and "more than 300 s from now" in stale.json["error"]
    assert post(app, at(now + timedelta(minutes=6), "future"), BODY).status_code == 401
    missing = post(app, {k: v for k, v in at(now, "x").items() if k != "X-Timestamp"}, BODY)
    assert missing.status_code == 401 and missing.json["error"] == "missing X-Timestamp header"
    assert [e.delivery_id for e in stored(app)] == ["fresh"]


def test_standard_webhooks(make_app):
    secret = standard_webhooks.new_secret()
    app = make_app(
        {**HAND, "webhook_secret": secret, "options": {**HAND["options"], "event": {"ticket_id": "/ticket/id"}}},
        scheme="standard-webhooks",
    )
    headers = standard_webhooks.sign(secret, BODY, datetime.now(UTC), "msg_2x9")
    assert post(app, {**JSON, **headers}, BODY).status_code == 202
    assert stored(app)[0].delivery_id == "msg_2x9"  # the scheme's own id dedups
    assert post(app, {**JSON, **headers, "webhook-signature": "v1,AAAA"}, BODY).status_code == 401


def test_a_shared_secret_in_a_header(make_app):
    app = make_app(HAND, scheme="header-token", header="Authorization", prefix="Bearer ")
    assert post(app, {**JSON, "Authorization": f"Bearer {SECRET}"}, BODY).status_code == 202
    wrong = post(app, {**JSON, "Authorization": "Bearer nope"}, BODY)
    assert wrong.status_code == 401 and wrong.json["error"] == "Authorization is wrong"
    assert post(app, JSON, BODY).status_code == 401
    # a token proves the sender, not the body: a changed body with the right token is accepted
    assert post(app, {**JSON, "Authorization": f"Bearer {SECRET}"}, BODY.replace(b"7", b"8")).status_code == 202


def test_a_shared_secret_in_the_url(make_app):
    app = make_app(HAND, scheme="url-token")
    assert post(app, JSON, BODY, token=SECRET).status_code == 202
    assert post(app, JSON, BODY.replace(b"7", b"9"), token="wrong-token-of-enough-length").status_code == 401
    assert post(app, JSON, BODY.replace(b"7", b"9")).status_code == 401


@pytest.mark.parametrize(
    "scheme",
    [
        {"scheme": "hmac", "header": "X-Signature"},
        {
            "scheme": "hmac",
            "header": "X-Sig",
            "encoding": "base64",
            "timestamp_header": "X-Ts",
            "signed": "{body}{timestamp}",
            "tolerance_seconds": 60,
        },
        {"scheme": "header-token", "header": "X-Token"},
        {"scheme": "url-token"},
    ],
)
def test_the_adapters_own_test_delivery_passes_its_own_check(make_app, scheme):
    """`connector send-test-event generic` signs as the configuration says."""
    app = make_app(HAND, **scheme)
    adapter = app.extensions["connector"].adapters["generic"]
    headers, body, token = adapter.sample_delivery("55", datetime.now(UTC))
    answer = post(app, headers, body, token)
    assert answer.status_code == 202, answer.json
    assert answer.json["ticket"] == "55" and answer.json["kind"] == "ticket.created"


# -- hostile bodies ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "ticket,message",
    [
        ({"nested": 1}, "must be a number or a string, not dict"),
        (True, "must be a number or a string, not bool"),
        (1.5, "must be a number or a string, not float"),
        ("../../admin", "is not a ticket id"),
        ("81/../../users", "is not a ticket id"),
        ("a" * 129, "is not a ticket id"),
        ("", "the body has no ticket id at /ticket/id"),
        (None, "the body has no ticket id at /ticket/id"),
    ],
)
def test_hostile_ticket_ids_are_400(make_app, ticket, message):
    app = make_app(HAND, scheme="url-token")
    body = json.dumps({"ticket": {"id": ticket}}).encode()
    answer = post(app, JSON, body, token=SECRET)
    assert answer.status_code == 400 and message in answer.json["error"]
    assert stored(app) == []


@pytest.mark.parametrize(
    "body,message",
    [
        (b"[1, 2]", "is not of type 'object'"),
        (b'"text"', "is not of type 'object'"),
        (b"{", "body is not valid JSON"),
    ],
)
def test_a_body_that_is_no_object_is_400(make_app, body, message):
    app = make_app(HAND, scheme="url-token")
    answer = post(app, JSON, body, token=SECRET)
    assert answer.status_code == 400 and message in json.dumps(answer.json)


@pytest.mark.parametrize("section", [ZAMMAD, GLPI])
def test_a_presets_test_delivery_is_signed_as_the_tracker_signs(make_app, section):
    app = make_app(section)
    adapter = app.extensions["connector"].adapters["generic"]
    headers, body, _ = adapter.sample_delivery("81", datetime.now(UTC))
    names = [k.lower() for k in headers]
    assert len(names) == len(set(names))  # one signature header, not two spellings of it
    answer = post(app, headers, body)
    assert answer.status_code == 202, answer.json
