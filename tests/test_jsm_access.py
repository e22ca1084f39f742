"""Jira Service Management's KB lever (group membership), portal registration, SLA alerts, pacing
and `install`, against strict `responses` with the documented answers."""

from __future__ import annotations

import json
from datetime import date

import pytest
import responses

from connector.core.errors import BadInput
from connector.core.kb_access import GRANT, REVOKE, AccessChange
from connector.platforms.base import Alert
from connector.platforms.jira_service_management import install
from tests.support.saas import Platform

JSM = Platform("jira-service-management")
GROUP = "276f955c-63d7-42c8-9520-92d01dca0625"
DMITRY, ELENA = "5b10a0effa615349cb016cd8", "5b10a2844c20165700ede21g"
ROOT = JSM.spec["folder"].parents[2]


def kb_adapter(**options):
    return JSM.adapter(options={"kb_group_id": GROUP, **options})


def grant(email, customer="C-KBV"):
    return AccessChange(
        email, GRANT, "warranty of kompas_3d runs up to 2025-03-14", customer, date(2024, 3, 15), date(2025, 3, 14)
    )


def revoke(email, customer="C-KBV"):
    return AccessChange(email, REVOKE, "the warranty of kompas_3d has ended", customer)


def user(account, email, kind="atlassian", groups=()):
    return {
        "accountId": account,
        "accountType": kind,
        "emailAddress": email,
        "displayName": email,
        "active": True,
        "groups": {"size": len(groups), "items": [{"name": "kb", "groupId": g} for g in groups]},
    }


def test_without_a_group_or_a_service_desk_the_lever_and_registration_are_off():
    assert JSM.adapter().supports == {"alert"}
    assert JSM.adapter(options={"kb_group_id": GROUP, "service_desk_id": "10"}).supports == {"alert", "kb", "portal"}


@responses.activate(assert_all_requests_are_fired=True)
def test_the_holders_are_the_groups_members_with_a_visible_email():
    page = JSM.answer("group_members")
    page["values"].append({**page["values"][0], "accountId": "hidden", "emailAddress": None})
    JSM.expect("GET", "/rest/api/3/group/member", page, {"groupId": GROUP, "startAt": "0", "maxResults": "50"})
    assert kb_adapter().kb_holders() == {"dmitry.orlov@kb-vektor.example", "elena.kuznetsova@npo-zenit.example"}


@responses.activate(assert_all_requests_are_fired=True)
def test_grants_and_revokes_change_only_what_is_not_so_already():
    dmitry, elena = "dmitry.orlov@kb-vektor.example", "elena.kuznetsova@npo-zenit.example"
    JSM.expect("GET", "/rest/api/3/user/search", [user(DMITRY, dmitry)], {"query": dmitry})
    JSM.expect("GET", "/rest/api/3/user", user(DMITRY, dmitry), {"accountId": DMITRY, "expand": "groups"})
    add = JSM.expect(
        "POST",
        "/rest/api/3/group/user",
        "group_user_added",
        {"groupId": GROUP},
        body=JSM.answer("group_user_add__request"),
        status=201,
    )
    JSM.expect("GET", "/rest/api/3/user/search", [user(ELENA, elena)], {"query": elena})
    JSM.expect("GET", "/rest/api/3/user", user(ELENA, elena, groups=[GROUP]), {"accountId": ELENA, "expand": "groups"})
    remove = JSM.expect("DELETE", "/rest/api/3/group/user", None, {"groupId": GROUP, "accountId": ELENA})
    JSM.expect("GET", "/rest/api/3/user/search", [], {"query": "gone@kb-vektor.example"})
    changes = [grant(dmitry), revoke(elena, "C-ZEN"), revoke("gone@kb-vektor.example")]
    outcomes = list(kb_adapter().apply_access(changes))
    assert [(o.ok, o.detail) for o in outcomes] == [
        (True, "granted"),
        (True, "revoked"),
        (True, "already: no Jira account has this e-mail"),
    ]
    assert add.call_count == remove.call_count == 1


@responses.activate(assert_all_requests_are_fired=True)
def test_a_portal_only_customer_cannot_be_granted_and_the_outcome_says_why():
    pavel = "pavel.ivanov@kb-vektor.example"
    JSM.expect("GET", "/rest/api/3/user/search", [JSM.answer("user_customer")], {"query": pavel})
    JSM.expect("GET", "/rest/api/3/user/search", [], {"query": "new@kb-vektor.example"})
    outcomes = list(kb_adapter().apply_access([grant(pavel), grant("new@kb-vektor.example")]))
    assert [o.ok for o in outcomes] == [False, False]
    assert "portal-only customer account" in outcomes[0].detail and "sees the knowledge base" in outcomes[0].detail
    assert "no Atlassian account" in outcomes[1].detail


@responses.activate(assert_all_requests_are_fired=True)
def test_a_refused_change_is_a_failed_outcome_and_the_run_goes_on():
    dmitry = "dmitry.orlov@kb-vektor.example"
    JSM.expect("GET", "/rest/api/3/user/search", [user(DMITRY, dmitry)], {"query": dmitry})
    JSM.expect("GET", "/rest/api/3/user", user(DMITRY, dmitry), {"accountId": DMITRY, "expand": "groups"})
    JSM.expect(
        "POST",
        "/rest/api/3/group/user",
        {"errorMessages": ["no permission"]},
        {"groupId": GROUP},
        body={"accountId": DMITRY},
        status=403,
    )
    JSM.expect("GET", "/rest/api/3/user/search", [], {"query": "x@kb-vektor.example"})
    outcomes = list(kb_adapter().apply_access([grant(dmitry), revoke("x@kb-vektor.example")]))
    assert [o.ok for o in outcomes] == [False, True] and "HTTP 403" in outcomes[0].detail


@responses.activate(assert_all_requests_are_fired=True)
def test_bulk_work_is_paced_under_the_configured_rate_and_429s_are_waited_out():
    a = kb_adapter(api_requests_per_minute=120)
    rate = json.loads((JSM.spec["folder"] / "api" / "error_429.headers.json").read_text(encoding="utf-8"))
    query = {"groupId": GROUP, "startAt": "0", "maxResults": "50"}
    JSM.expect("GET", "/rest/api/3/group/member", None, query, status=429, headers=rate)
    JSM.expect("GET", "/rest/api/3/group/member", "group_members", query)
    for _ in range(3):
        a.kb_holders()
    assert a.waits == [30.0, 0.5]  # Retry-After exactly; then requests 60/120 s apart


@responses.activate(assert_all_requests_are_fired=True)
def test_registration_creates_the_customer_adds_it_to_the_desk_and_the_organisation():
    a = JSM.adapter(options={"service_desk_id": "10"})
    email = "olga.smirnova@kb-vektor.example"
    new_id = "qm:a713c8ea-1075-4e30-9d96-891a7d181739:5ad6d3a01db05e2a66fa80bd"
    JSM.expect(
        "GET", "/rest/servicedeskapi/servicedesk/10/customer", {"values": [], "isLastPage": True}, {"query": email}
    )
    JSM.expect("GET", "/rest/api/3/user/search", [], {"query": email})
    JSM.expect(
        "POST",
        "/rest/servicedeskapi/customer",
        {"accountId": new_id, "emailAddress": email},
        body={"email": email, "displayName": "Olga Smirnova"},
        status=201,
    )
    JSM.expect("POST", "/rest/servicedeskapi/servicedesk/10/customer", body={"accountIds": [new_id]}, status=204)
    JSM.expect("GET", "/rest/servicedeskapi/organization", {"values": [], "isLastPage": True}, {"accountId": new_id})
    JSM.expect("POST", "/rest/servicedeskapi/organization/1/user", body={"accountIds": [new_id]}, status=204)
    done = a.register_portal_user(email, "Olga Smirnova", "C-KBV", "KB Vektor", "1")
    assert done == (f"created customer {email}; added {email} to service desk 10; added {email} to organisation 1")


@responses.activate(assert_all_requests_are_fired=True)
def test_registration_finds_the_organisation_by_name_and_does_nothing_twice():
    a = JSM.adapter(options={"service_desk_id": "10"})
    pavel = "pavel.ivanov@kb-vektor.example"
    PAVEL = JSM.answer("user_customer")["accountId"]
    for _ in range(2):
        JSM.expect(
            "GET",
            "/rest/servicedeskapi/servicedesk/10/customer",
            {"values": [JSM.answer("request_SUP-123")["reporter"]]},
            {"query": pavel},
        )
        JSM.expect(
            "POST", "/rest/servicedeskapi/organization", "organization_1", body={"name": "KB Vektor"}, status=201
        )
        JSM.expect("POST", "/rest/servicedeskapi/servicedesk/10/organization", body={"organizationId": 1}, status=204)
    JSM.expect("GET", "/rest/servicedeskapi/organization", {"values": []}, {"accountId": PAVEL})
    JSM.expect("POST", "/rest/servicedeskapi/organization/1/user", body={"accountIds": [PAVEL]}, status=204)
    JSM.expect("GET", "/rest/servicedeskapi/organization", "organizations_for_customer", {"accountId": PAVEL})
    assert a.register_portal_user(pavel, None, "C-KBV", "KB Vektor", None) == (
        "organisation 1 (KB Vektor) on service desk 10; added pavel.ivanov@kb-vektor.example to organisation 1"
    )
    again = a.register_portal_user(pavel, None, "C-KBV", "KB Vektor", None)
    assert again == "organisation 1 (KB Vektor) on service desk 10"


@responses.activate(assert_all_requests_are_fired=True)
def test_an_alert_adds_labels_sets_the_priority_and_leaves_an_internal_comment():
    put = JSM.expect(
        "PUT",
        "/rest/api/3/issue/SUP-123",
        None,
        status=204,
        body={
            "update": {"labels": [{"add": "sla_warn_first_response_75"}]},
            "fields": {"priority": {"name": "Highest"}},
        },
    )
    note = JSM.expect(
        "POST",
        "/rest/servicedeskapi/request/SUP-123/comment",
        "request_comment_created",
        status=201,
        body={"body": "SLA warning: 75% used.", "public": False},
    )
    assert JSM.adapter().alert(Alert("SUP-123", ("sla_warn_first_response_75",), "SLA warning: 75% used.", "Highest"))
    assert put.call_count == note.call_count == 1
    with pytest.raises(BadInput, match="not a Jira issue key"):
        JSM.adapter().alert(Alert("123", (), "x"))


@responses.activate(assert_all_requests_are_fired=True)
def test_install_apply_creates_the_signed_admin_webhook():
    expected = json.loads((JSM.spec["folder"] / "api" / "webhook_register__request.json").read_text(encoding="utf-8"))
    expected["description"] = install.webhook_definition("x", "y")["description"]
    JSM.expect("GET", "/rest/api/3/field", "fields")
    JSM.expect("POST", "/rest/webhooks/1.0/webhook", "webhook_registered", body=expected, status=201)
    lines = JSM.adapter().install(expected["url"], apply=True)
    assert lines[0].startswith("Fields: first_response_due = customfield_10051 (First response due), product =")
    assert lines[1].startswith("Created admin webhook 12: jira:issue_created, jira:issue_updated, comment_created")
    assert "signed with the configured webhook secret" in lines[2]


@responses.activate(assert_all_requests_are_fired=True)
def test_install_apply_refuses_a_due_field_that_is_not_a_date_time_picker_and_creates_nothing():
    settings = JSM.settings()
    settings["fields"]["resolution_due"] = "customfield_10053"  # the Product text field
    JSM.expect("GET", "/rest/api/3/field", "fields")
    with pytest.raises(BadInput, match="customfield_10053 \\(Product\\) is not a Date Time Picker") as caught:
        JSM.adapter(fields=settings["fields"]).install("https://c.example/webhooks/jira-service-management", True)
    assert caught.value.where == "platforms.jira-service-management.fields.resolution_due"


def test_install_apply_needs_the_jql_and_a_secret_naming_the_key():
    with pytest.raises(BadInput) as caught:
        JSM.adapter(options={"jql": None}).install("https://c.example/webhooks/jira-service-management", apply=True)
    assert caught.value.where == "platforms.jira-service-management.options.jql"
    with pytest.raises(BadInput) as caught:
        JSM.adapter(webhook_secret=None).install("https://c.example/webhooks/jira-service-management", apply=True)
    assert caught.value.where == "platforms.jira-service-management.webhook_secret"


def test_install_steps_and_the_shipped_webhook_match_the_code():
    steps = "\n".join(JSM.adapter().install("https://c.example/webhooks/jira-service-management", apply=False))
    assert "Issue: created, updated; Comment: created" in steps and "project = SUP AND issuetype = Support" in steps
    shipped = json.loads((ROOT / "webhooks" / JSM.name / "webhook.json").read_text(encoding="utf-8"))
    assert shipped == install.webhook_definition(install.EXAMPLE_URL, install.EXAMPLE_JQL)
