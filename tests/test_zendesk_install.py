"""`connector install zendesk`: the webhook through the Webhooks API, or the admin's clicks."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import responses
from responses import matchers

from connector.platforms.zendesk.install import SUBSCRIPTIONS, segment_definition, webhook_definition
from tests.support.zendesk import AUTH, BASE, adapter, answer

WEBHOOK_URL = "https://connector.example.com/webhooks/zendesk"
SHIPPED = Path(__file__).parent.parent / "webhooks" / "zendesk" / "webhook.json"
SECRET = answer("webhook_signing_secret")["signing_secret"]["secret"]


def expect_list(name: str):
    responses.get(
        f"{BASE}/api/v2/webhooks",
        json=answer(name),
        match=[
            matchers.query_param_matcher({"filter[name_contains]": "Support entitlement connector"}),
            matchers.header_matcher({"Authorization": AUTH}),
        ],
    )


def expect_secret():
    responses.get(
        f"{BASE}/api/v2/webhooks/01HXZ8M2Q4T7Y9B3C5D7F9H1K3/signing_secret",
        json=answer("webhook_signing_secret"),
        match=[matchers.header_matcher({"Authorization": AUTH})],
    )


def expect_segments(name: str):
    responses.get(
        f"{BASE}/api/v2/help_center/user_segments",
        json=answer(name),
        match=[
            matchers.query_param_matcher({"built_in": "false", "page[size]": "100"}),
            matchers.header_matcher({"Authorization": AUTH}),
        ],
    )


def expect_segment_created(body: dict):
    responses.post(
        f"{BASE}/api/v2/help_center/user_segments",
        json=answer("user_segment_created"),
        status=201,
        match=[
            matchers.json_params_matcher(body),
            matchers.header_matcher({"Authorization": AUTH, "Content-Type": "application/json"}),
        ],
    )


def test_the_shipped_definition_is_the_one_install_creates():
    assert json.loads(SHIPPED.read_text()) == webhook_definition(WEBHOOK_URL)


def test_subscriptions_are_documented_ticket_event_types():
    assert all(s.startswith("zen:event-type:ticket.") for s in SUBSCRIPTIONS)
    assert {
        "zen:event-type:ticket.created",
        "zen:event-type:ticket.status_changed",
        "zen:event-type:ticket.comment_added",
    } <= set(SUBSCRIPTIONS)


@responses.activate(assert_all_requests_are_fired=True)
def test_install_with_apply_creates_the_webhook_and_never_prints_the_secret():
    expect_list("webhooks_none")
    responses.post(
        f"{BASE}/api/v2/webhooks",
        json=answer("webhook_created"),
        status=201,
        match=[
            matchers.json_params_matcher(webhook_definition(WEBHOOK_URL)),
            matchers.header_matcher({"Authorization": AUTH, "Content-Type": "application/json"}),
        ],
    )
    expect_secret()
    expect_segments("user_segments_without_kb")  # vip, and kb_closed+vip: neither is ours
    expect_segment_created(
        {"user_segment": {"name": "Closed knowledge base", "user_type": "signed_in_users", "tags": ["kb_closed"]}}
    )
    lines = adapter(webhook_secret="").install(WEBHOOK_URL, apply=True)
    assert len(responses.calls) == 5
    text = "\n".join(lines)
    assert "Created webhook 01HXZ8M2Q4T7Y9B3C5D7F9H1K3" in text
    assert "Created user segment 7284 ('Closed knowledge base'): signed-in users tagged kb_closed." in text
    assert "Visible to: Closed knowledge base" in text
    assert "Reveal secret" in text and "webhook_secret_file" in text
    assert SECRET not in text


@responses.activate(assert_all_requests_are_fired=True)
def test_install_twice_does_not_create_a_second_webhook():
    expect_list("webhooks_existing")
    expect_secret()
    expect_segments("user_segments_with_kb")
    lines = adapter(webhook_secret=SECRET).install(WEBHOOK_URL, apply=True)
    assert [c.request.method for c in responses.calls] == ["GET", "GET", "GET"]
    assert "already sends ticket events" in lines[0]
    assert "matches" in lines[1] and SECRET not in "\n".join(lines)
    assert "User segment 7284 ('Closed knowledge base') already matches" in lines[2]


@responses.activate(assert_all_requests_are_fired=True)
def test_install_can_write_the_secret_to_a_private_file(tmp_path):
    expect_list("webhooks_existing")
    expect_secret()
    expect_segments("user_segments_with_kb")
    target = tmp_path / "zendesk_webhook_secret"
    lines = adapter(webhook_secret="", options={"signing_secret_file": str(target)}).install(WEBHOOK_URL, apply=True)
    assert target.read_text().strip() == SECRET
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert str(target) in lines[1] and SECRET not in "\n".join(lines)


@responses.activate(assert_all_requests_are_fired=True)
def test_install_without_apply_lists_the_clicks_and_calls_nothing():
    lines = adapter().install(WEBHOOK_URL, apply=False)
    assert len(responses.calls) == 0
    text = "\n".join(lines)
    assert f"{BASE}/admin > Apps and integrations > Webhooks" in text
    assert WEBHOOK_URL in text and "Zendesk events" in text and "Reveal secret" in text
    for label in ("Ticket created", "Status changed", "Comment added"):
        assert label in text
    assert "User segments" in text and "'Signed-in users'" in text and "'kb_closed'" in text
    assert "Visible to: Closed knowledge base" in text and "Tags on users and organizations" in text


@responses.activate(assert_all_requests_are_fired=True)
def test_the_segment_takes_its_tag_and_name_from_the_options():
    options = {"kb_tag": "ascon_kb", "kb_segment_name": "ASCON closed KB"}
    assert segment_definition(options) == {
        "user_segment": {"name": "ASCON closed KB", "user_type": "signed_in_users", "tags": ["ascon_kb"]}
    }
    expect_list("webhooks_existing")
    expect_secret()
    expect_segments("user_segments_with_kb")  # a kb_closed segment is not an ascon_kb one
    expect_segment_created(segment_definition(options))
    lines = adapter(webhook_secret=SECRET, options=options).install(WEBHOOK_URL, apply=True)
    assert len(responses.calls) == 4 and "signed-in users tagged ascon_kb" in "\n".join(lines)
    text = "\n".join(adapter(options=options).install(WEBHOOK_URL, apply=False))
    assert "'ascon_kb'" in text and "Visible to: ASCON closed KB" in text
