"""Freshdesk webhooks: the recorded automation-rule deliveries through the real HTTP view (a shared
secret in a custom header: no signature), the rules the connector ships (the same text in the code,
the fixtures' trace of Freshdesk's placeholders and webhooks/freshdesk/README.md), and the
settings check that makes a malformed mapping a start-up error naming the key."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest
import responses

from connector.composition import configuration
from connector.core.errors import BadInput, ValidationFailed
from connector.platforms.freshdesk import install
from connector.storage.events import EventStore
from connector.web import create_app
from tests.support.contract import delivery
from tests.support.saas import FIXTURES, Platform

FD = Platform("freshdesk")
FOLDER = FIXTURES / "freshdesk"
ROOT = FIXTURES.parents[1]


@pytest.fixture
def app(migrated_sqlite):
    app = create_app(test_config={"database_url": migrated_sqlite("fd.db"), "platforms": {FD.name: FD.settings()}})
    yield app
    app.extensions["connector"].close()


def post(app, name, headers=None):
    recorded, body = delivery(FOLDER, name)
    return app.test_client().post(f"/webhooks/{FD.name}", data=body, headers=headers or recorded)


def test_a_recorded_delivery_is_accepted_and_the_same_body_again_is_a_duplicate(app):
    first = post(app, "ticket_updated")
    assert first.status_code == 202 and first.json["ticket"] == "123" and first.json["kind"] == "ticket_updated"
    again = post(app, "ticket_updated")  # what Freshdesk's retry 5 minutes later sends
    assert again.status_code == 200 and again.json["status"] == "duplicate"


@pytest.mark.parametrize(
    "name,status,words",
    [
        ("malformed__bad_token", 401, "wrong secret"),
        ("malformed__no_token", 401, "missing X-Connector-Token"),
        ("malformed__unquoted_empty_placeholder", 400, "not valid JSON"),
        ("malformed__ticket_id_not_numeric", 400, "/ticket/id"),
    ],
)
def test_the_recorded_bad_deliveries_get_their_4xx_and_store_nothing(app, name, status, words):
    answer = post(app, name)
    assert answer.status_code == status and words in json.dumps(answer.json)
    assert EventStore(app.extensions["connector"].engine).list() == []


def test_the_token_header_can_be_renamed(migrated_sqlite):
    settings = FD.settings(options={"token_header": "X-Support-Secret"})
    app = create_app(test_config={"database_url": migrated_sqlite("fd.db"), "platforms": {FD.name: settings}})
    try:
        recorded, body = delivery(FOLDER, "ticket_created")
        token = recorded.pop("x-connector-token")
        assert post(app, "ticket_created", recorded | {"X-Connector-Token": token}).status_code == 401
        assert post(app, "ticket_created", recorded | {"X-Support-Secret": token}).status_code == 202
    finally:
        app.extensions["connector"].close()


def rule_text() -> str:
    return (FOLDER / "automation_rule.md").read_text(encoding="utf-8")


def test_the_shipped_rule_body_is_the_traced_one():
    documented = re.search(r"```json\n(.*?)\n```", rule_text(), re.S).group(1)
    assert install.rule_body("ticket_created") == documented
    for event in ("ticket_updated", "conversation_added"):
        assert f'`"event": "{event}"`' in rule_text()


def test_the_recorded_deliveries_are_the_rules_body_as_freshdesk_renders_it():
    template = json.loads(re.sub(r"\{\{ticket\.id\}\}", "0", install.rule_body("ticket_created")))
    for name, event in (
        ("ticket_created", "ticket_created"),
        ("ticket_updated", "ticket_updated"),
        ("note_added", "conversation_added"),
    ):
        body = json.loads(delivery(FOLDER, name)[1])
        assert body["event"] == event and set(body["ticket"]) == set(template["ticket"])


@responses.activate(assert_all_requests_are_fired=True)
def test_the_readme_and_install_give_the_three_rules_exactly():
    readme = (ROOT / "webhooks" / "freshdesk" / "README.md").read_text(encoding="utf-8")
    FD.expect("GET", "/api/v2/ticket_fields", "ticket_fields")
    steps = "\n".join(FD.adapter().install("https://c.example/webhooks/freshdesk", apply=True))
    assert steps.startswith("Freshdesk's API cannot create automation rules: nothing was created")
    assert "X-Connector-Token: <the connector's webhook secret" in steps
    assert FD.spec["settings"]["webhook_secret"] not in steps  # the secret is never printed
    for event in install.EVENTS:
        assert install.rule_body(event) in readme
        assert "\n".join("    " + line for line in install.rule_body(event).splitlines()) in steps
    for _, name, _, events, _ in install.RULES:
        assert name in readme and events.split(",")[0] in readme


def test_a_test_event_is_rule_ones_body_with_the_secret_header():
    headers, body, token = FD.adapter().sample_delivery("77", datetime.now(UTC))
    assert token is None and headers["X-Connector-Token"] == FD.spec["settings"]["webhook_secret"]
    assert json.loads(body)["ticket"]["id"] == 77
    with pytest.raises(BadInput, match="not a Freshdesk ticket id"):
        FD.adapter().sample_body("SUP-1", datetime.now(UTC))


@pytest.mark.parametrize(
    "section,where",
    [
        (
            '[platforms.freshdesk.fields]\ntier = "support_tier"\nfirst_response_due = "cf_a"\n'
            'resolution_due = "cf_b"\n',
            "platforms.freshdesk.fields.tier",
        ),
        ('[platforms.freshdesk.fields]\ntier = "cf_tier"\n', "platforms.freshdesk.fields"),
        (
            '[platforms.freshdesk.fields]\ntier = "cf_t"\nfirst_response_due = "cf_a"\nresolution_due = "cf_b"\n'
            '[platforms.freshdesk.options]\nkb_folder_ids = ["3100"]\n',
            "platforms.freshdesk.options.kb_folder_ids.0",
        ),
        (
            '[platforms.freshdesk.fields]\ntier = "cf_t"\nfirst_response_due = "cf_a"\nresolution_due = "cf_b"\n'
            '[platforms.freshdesk.options.statuses]\n"6" = "waiting"\n',
            "platforms.freshdesk.options.statuses.6",
        ),
    ],
)
def test_a_malformed_mapping_is_a_start_up_error_naming_the_key(tmp_path, section, where):
    path = tmp_path / "connector.toml"
    path.write_text('[platforms.freshdesk]\nbase_url = "https://x.freshdesk.com"\n' + section)
    with pytest.raises(ValidationFailed) as caught:
        configuration(path)
    assert any(p.startswith(where) for p in caught.value.problems), caught.value.problems


@responses.activate(assert_all_requests_are_fired=True)
def test_install_apply_reports_the_custom_fields_freshdesk_lacks():
    FD.expect("GET", "/api/v2/ticket_fields", "ticket_fields")
    lines = FD.adapter().install("https://c.example/webhooks/freshdesk", apply=True)
    assert lines[1:5] == [
        "MISSING: fields.first_response_due = cf_first_response_due is not a ticket field; create it (Admin >"
        " Workflows > Ticket fields, webhooks/freshdesk/README.md) or correct the name.",
        "ok: fields.product = cf_product (Product, custom_dropdown)",
        "MISSING: fields.resolution_due = cf_resolution_due is not a ticket field; create it (Admin > Workflows >"
        " Ticket fields, webhooks/freshdesk/README.md) or correct the name.",
        "ok: fields.tier = cf_support_tier (Support tier, custom_text)",
    ]
