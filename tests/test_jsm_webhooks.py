"""Jira Service Management webhooks: Atlassian's signature test vector, the recorded deliveries
(tests/fixtures/jira-service-management) through the real HTTP view, retries recognised by their
identifier, and the settings check that makes a malformed mapping a start-up error."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from connector.composition import configuration
from connector.config.schemas import problems
from connector.core.errors import BadInput, Unauthorized, ValidationFailed
from connector.core.events import Delivery
from connector.platforms.jira_service_management import signature
from connector.storage.events import EventStore
from connector.web import create_app
from tests.support.contract import delivery
from tests.support.saas import FIXTURES, Platform

JSM = Platform("jira-service-management")
FOLDER = FIXTURES / "jira-service-management"
SECRET = JSM.spec["settings"]["webhook_secret"]
NOW = datetime(2024, 5, 13, 10, 0, tzinfo=UTC)


@pytest.fixture
def app(migrated_sqlite):
    app = create_app(test_config={"database_url": migrated_sqlite("jsm.db"), "platforms": {JSM.name: JSM.settings()}})
    yield app
    app.extensions["connector"].close()


def post(app, name, headers_name=None):
    headers, body = delivery(FOLDER, name)
    if headers_name:
        headers = json.loads((FOLDER / f"{headers_name}.headers.json").read_text(encoding="utf-8"))
    return app.test_client().post(f"/webhooks/{JSM.name}", data=body, headers=headers)


def test_atlassians_test_vector():
    assert (
        signature.sign("It's a Secret to Everybody", b"Hello World!")
        == "sha256=a4771c39fbe90f317c7824e83ddef3caae9cb3d976c214ace1f2937e133263c9"
    )
    upper = "sha256=A4771C39FBE90F317C7824E83DDEF3CAAE9CB3D976C214ACE1F2937E133263C9"
    signature.check("It's a Secret to Everybody", upper, b"Hello World!")


@pytest.mark.parametrize(
    "header,why",
    [
        (None, "missing x-hub-signature"),
        ("sha1=0a4d55a8d778e5022fab701977c5d840bbc486d0", "unsupported x-hub-signature method 'sha1'"),
        ("a4771c39fbe90f317c7824e83ddef3caae9cb3d976c214ace1f2937e133263c9", "unsupported"),
        ("sha256=a4771c39fbe90f317c7824e83ddef3caae9cb3d976c214ace1f2937e133263c8", "does not match"),
    ],
)
def test_a_signature_that_is_missing_unknown_or_wrong_is_refused(header, why):
    with pytest.raises(Unauthorized, match=why):
        signature.check("It's a Secret to Everybody", header, b"Hello World!")


def test_no_secret_configured_refuses_even_a_signed_delivery():
    with pytest.raises(Unauthorized, match="no Jira Service Management webhook secret"):
        signature.check("", signature.sign("x" * 20, b"{}"), b"{}")


def test_the_recorded_deliveries_are_accepted_and_a_retry_is_a_duplicate(app):
    first = post(app, "jira_issue_updated__status")
    assert first.status_code == 202, first.json
    assert first.json["ticket"] == "SUP-123" and first.json["kind"] == "issue_updated"
    again = post(app, "jira_issue_updated__status", headers_name="jira_issue_updated__status.retry1")
    assert again.status_code == 200 and again.json["status"] == "duplicate"
    stored = EventStore(app.extensions["connector"].engine).list()
    assert [(e.delivery_id, e.ticket_id) for e in stored] == [("e4b8c2d1-6f3a-4a90-b7c5-1d2e3f4a5b03", "SUP-123")]


@pytest.mark.parametrize("name", ["malformed__bad_signature", "malformed__missing_signature"])
def test_the_recorded_forgeries_are_401_and_store_nothing(app, name):
    answer = post(app, name)
    assert answer.status_code == 401 and answer.json["error"]
    assert EventStore(app.extensions["connector"].engine).list() == []


@pytest.mark.parametrize(
    "name,where",
    [
        ("malformed__no_issue", "issue"),
        ("malformed__issue_without_key", "key"),
        ("malformed__timestamp_not_number", "/timestamp"),
        ("malformed__comment_event_without_comment", "comment"),
        ("malformed__not_json", "not valid JSON"),
    ],
)
def test_validly_signed_malformed_bodies_are_400_naming_the_problem(app, name, where):
    answer = post(app, name)
    assert answer.status_code == 400
    assert where in json.dumps(answer.json)


def test_the_event_carries_the_moment_jira_stamped():
    headers, body = delivery(FOLDER, "comment_created")
    a = JSM.adapter()
    event = a.parse(Delivery(headers, body), json.loads(body))
    assert event.occurred_at == datetime(2024, 5, 13, 10, 15, 0, 561000, tzinfo=UTC)
    assert (event.kind, event.delivery_id) == ("comment_created", "b2c3d4e5-7a8b-4c9d-8e0f-a1b2c3d4e504")


def test_a_test_event_names_an_issue_key_and_matches_the_schema():
    a = JSM.adapter()
    headers, body, token = a.sample_delivery("SUP-7", NOW)
    assert token is None and problems("webhook.jira-service-management.schema.json", json.loads(body)) == []
    signature.check(SECRET, headers["X-Hub-Signature"], body)
    with pytest.raises(BadInput, match="not a Jira issue key"):
        a.sample_body("123", NOW)


@pytest.mark.parametrize(
    "section,where",
    [
        (
            '[platforms.jira-service-management.fields]\ntier = "10050"\nfirst_response_due = "customfield_1"\n'
            'resolution_due = "customfield_2"\n',
            "platforms.jira-service-management.fields.tier",
        ),
        (
            '[platforms.jira-service-management.fields]\ntier = "customfield_1"\n',
            "platforms.jira-service-management.fields",
        ),
        (
            '[platforms.jira-service-management.fields]\ntier = "customfield_1"\nfirst_response_due = "customfield_2"\n'
            'resolution_due = "customfield_3"\n[platforms.jira-service-management.options]\ntier_field = "radio"\n',
            "platforms.jira-service-management.options.tier_field",
        ),
        (
            '[platforms.jira-service-management.fields]\ntier = "customfield_1"\nfirst_response_due = "customfield_2"\n'
            'resolution_due = "customfield_3"\n'
            '[platforms.jira-service-management.options.statuses]\n"Waiting" = "paused"\n',
            "platforms.jira-service-management.options.statuses.Waiting",
        ),
    ],
)
def test_a_malformed_mapping_is_a_start_up_error_naming_the_key(tmp_path, section, where):
    path = tmp_path / "connector.toml"
    path.write_text('[platforms.jira-service-management]\nbase_url = "https://x.atlassian.net"\n' + section)
    with pytest.raises(ValidationFailed) as caught:
        configuration(path)
    assert any(p.startswith(where) for p in caught.value.problems), caught.value.problems


def test_the_api_client_needs_its_credentials():
    settings = JSM.settings()
    settings["credentials"] = {"email": "connector@ascon.example"}
    with pytest.raises(BadInput, match=r"needs credentials.api_token \(or api_token_env / api_token_file\)"):
        create_app(test_config={"database_url": "sqlite://", "platforms": {JSM.name: settings}})
