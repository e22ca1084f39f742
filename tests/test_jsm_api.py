"""Reading and writing Jira Service Management issues beyond the shared contract: the paged
changelog, a hidden reporter e-mail, status mapping, a select-list tier, the minute guard against
write loops, and a 429 on the write that the worker waits out exactly (Retry-After)."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import responses

from connector.core.ticket import Author, Carried, TicketStatus, WriteBack
from connector.pipeline.process import Processor
from connector.pipeline.worker import Worker
from connector.platforms.jira_service_management import reading, writing
from connector.storage.registry_import import import_registry
from connector.web import create_app
from tests.support.contract import delivery
from tests.support.http import all_fired_then_reset
from tests.support.saas import FIXTURES, Platform

JSM = Platform("jira-service-management")
PAVEL = "qm:a713c8ea-1075-4e30-9d96-891a7d181739:5ad6d3581db05e2a66fa80b"
ANNA = "5b10ac8d82e05b22cc7d4ef5"


def expect_reads(issue, comments="issue_SUP-123_comments", key="SUP-123"):
    JSM.expect("GET", f"/rest/api/3/issue/{key}", issue, {"expand": "changelog"})
    JSM.expect("GET", f"/rest/api/3/issue/{key}/comment", comments, {"startAt": "0", "maxResults": "100"})
    JSM.expect("GET", f"/rest/servicedeskapi/request/{key}/participant", "request_SUP-123_participants")
    JSM.expect("GET", "/rest/api/3/user", "user_agent", {"accountId": ANNA})
    JSM.expect("GET", "/rest/servicedeskapi/organization", "organizations_for_customer", {"accountId": PAVEL})


@responses.activate(assert_all_requests_are_fired=True)
def test_a_cut_short_changelog_is_read_page_by_page():
    issue = JSM.answer("issue_SUP-123")
    issue["changelog"] = {**issue["changelog"], "maxResults": 1, "histories": issue["changelog"]["histories"][:1]}
    expect_reads(issue)
    JSM.expect(
        "GET",
        "/rest/api/3/issue/SUP-123/changelog",
        "issue_SUP-123_changelog_page1",
        {"startAt": "0", "maxResults": "100"},
    )
    JSM.expect(
        "GET",
        "/rest/api/3/issue/SUP-123/changelog",
        "issue_SUP-123_changelog_page2",
        {"startAt": "2", "maxResults": "100"},
    )
    ticket = JSM.adapter().fetch_ticket("SUP-123")
    assert [(s.at.isoformat(), s.status) for s in ticket.statuses] == [
        ("2024-05-13T10:00:00.412000+03:00", TicketStatus.OPEN),
        ("2024-05-13T13:15:03.123000+03:00", TicketStatus.PENDING),
    ]


@responses.activate(assert_all_requests_are_fired=True)
def test_a_hidden_reporter_email_is_read_from_the_service_desk_request():
    issue = JSM.answer("issue_SUP-123")
    issue["fields"]["reporter"]["emailAddress"] = None
    expect_reads(issue)
    JSM.expect("GET", "/rest/servicedeskapi/request/SUP-123", "request_SUP-123")
    assert JSM.adapter().fetch_ticket("SUP-123").requester_email == "pavel.ivanov@kb-vektor.example"


@responses.activate(assert_all_requests_are_fired=True)
def test_a_comment_by_an_unlicensed_atlassian_account_is_not_an_agents_reply():
    comments = JSM.answer("issue_SUP-123_comments")
    for c in comments["comments"]:
        c["author"]["accountId"] = "5b10a0effa615349cb016cd8"  # a customer with an Atlassian account
    JSM.expect("GET", "/rest/api/3/issue/SUP-123", "issue_SUP-123", {"expand": "changelog"})
    JSM.expect("GET", "/rest/api/3/issue/SUP-123/comment", comments, {"startAt": "0", "maxResults": "100"})
    JSM.expect("GET", "/rest/servicedeskapi/request/SUP-123/participant", "request_SUP-123_participants")
    JSM.expect("GET", "/rest/api/3/user", "user_customer", {"accountId": "5b10a0effa615349cb016cd8"})
    JSM.expect("GET", "/rest/servicedeskapi/organization", "organizations_for_customer", {"accountId": PAVEL})
    ticket = JSM.adapter().fetch_ticket("SUP-123")
    assert [c.author for c in ticket.comments] == [Author.END_USER, Author.END_USER]
    assert ticket.first_response_at is None


@pytest.mark.parametrize(
    "status,category,mapping,want",
    [
        ({"id": "10002", "name": "Waiting for customer"}, "indeterminate", {}, TicketStatus.PENDING),
        ({"id": "10010", "name": "Pending"}, "indeterminate", {}, TicketStatus.HOLD),
        ({"id": "10011", "name": "Awaiting vendor"}, "indeterminate", {}, TicketStatus.OPEN),
        ({"id": "10011", "name": "Awaiting vendor"}, "indeterminate", {"Awaiting vendor": "hold"}, TicketStatus.HOLD),
        ({"id": "10012", "name": "Fixed"}, "done", {}, TicketStatus.SOLVED),
        ({"id": "10012", "name": "Fixed"}, "done", {"10012": "closed"}, TicketStatus.CLOSED),
    ],
)
def test_statuses_map_by_options_then_jsm_names_then_category(status, category, mapping, want):
    assert reading.common_status(status["id"], status["name"], mapping, category) is want


def test_the_status_history_starts_with_the_status_before_the_first_change():
    issue = JSM.answer("issue_SUP-123")
    created = reading.api_moment(issue["fields"]["created"], "created")
    history = reading.status_history(created, issue["changelog"]["histories"], issue["fields"]["status"], {})
    assert [h.status for h in history] == [TicketStatus.OPEN, TicketStatus.PENDING] and history[0].at == created


def plan(changed, **desired):
    """A write-back plan of `changed` fields towards `desired` (the SLA readings are not used here)."""
    return WriteBack(Carried(**desired), frozenset(changed), None, None, None)


def test_a_select_list_tier_is_written_as_its_option_and_read_back_as_the_tier():
    options: dict[str, Any] = {"tier_field": "select", "tier_values": {"warranty": "Warranty (8/40)"}}
    ticket = reading.to_ticket(
        JSM.answer("issue_SUP-124"), [], [], {}, "e@x.example", None, JSM.spec["settings"]["fields"], "sla_", options
    )
    body = writing.edit_body(
        ticket, plan({"tier"}, tier="warranty"), JSM.spec["settings"]["fields"], "sla_", options, {}, None
    )
    assert body == {"fields": {"customfield_10050": {"value": "Warranty (8/40)"}}}
    doc = {"customfield_10050": {"self": "...", "value": "Warranty (8/40)", "id": "10100"}}
    assert reading.carried(doc, JSM.spec["settings"]["fields"], "sla_", options["tier_values"]).tier == "warranty"


def test_a_due_moment_the_issue_holds_within_the_minute_is_not_sent_again():
    fields = JSM.spec["settings"]["fields"]
    issue = JSM.answer("issue_SUP-123")
    ticket = reading.to_ticket(issue, [], [], {}, None, None, fields, "sla_", {})
    wanted = datetime(2024, 5, 13, 18, 0, 0, 412000, tzinfo=timezone(timedelta(hours=3)))
    same = writing.edit_body(
        ticket, plan({"first_response_due"}, first_response_due=wanted), fields, "sla_", {}, issue["fields"], None
    )
    moved = writing.edit_body(
        ticket,
        plan({"first_response_due"}, first_response_due=wanted + timedelta(minutes=1)),
        fields,
        "sla_",
        {},
        issue["fields"],
        None,
    )
    assert same is None
    assert moved == {"fields": {"customfield_10051": "2024-05-13T18:01:00.412+0300"}}


def test_alert_labels_and_flags_are_kept_apart():
    doc = {"labels": ["sla_unknown_product", "sla_warn_first_response_75", "sla_breached_resolution", "vip"]}
    assert reading.carried(doc, JSM.spec["settings"]["fields"], "sla_", {}).flags == {"unknown_product"}


@pytest.fixture
def runtime(migrated_sqlite):
    app = create_app(test_config={"database_url": migrated_sqlite("jsm.db"), "platforms": {JSM.name: JSM.settings()}})
    runtime = app.extensions["connector"]
    import_registry(JSM.spec["folder"] / "registry.json", runtime.engine)
    runtime.app = app
    yield runtime
    runtime.close()


@responses.activate(assert_all_requests_are_fired=True)
def test_a_429_on_the_write_is_waited_out_exactly_then_the_write_lands(runtime):
    headers, body = delivery(FIXTURES / JSM.name, "jira_issue_created")
    answer = runtime.app.test_client().post(f"/webhooks/{JSM.name}", data=body, headers=headers)
    assert answer.status_code == 202
    case = JSM.spec["tickets"]["SUP-123"]
    now = datetime.fromisoformat(case["now"].replace("Z", "+00:00"))
    rate = json.loads((JSM.spec["folder"] / "api" / "error_429.headers.json").read_text(encoding="utf-8"))
    expect_reads(JSM.answer("issue_SUP-123"))
    write = case["writes"][0]
    JSM.expect("PUT", write["path"], body=write["body"], status=429, headers=rate)  # its body is not documented
    clock = [datetime.now(UTC) + timedelta(seconds=1)]
    worker = Worker(
        runtime.store,
        Processor(runtime.engine, runtime.adapters, runtime.rules, clock=lambda: now),
        runtime.config.worker,
        clock=lambda: clock[0],
    )
    assert worker.run_once()
    event = runtime.store.list()[0]
    assert event.status == "pending" and event.next_attempt_at == clock[0] + timedelta(seconds=30)
    assert "rate limited" in event.last_error
    all_fired_then_reset()
    expect_reads(JSM.answer("issue_SUP-123"))
    put = JSM.expect("PUT", write["path"], body=write["body"], status=204)
    clock[0] = event.next_attempt_at
    assert worker.run_once()
    assert runtime.store.list()[0].status == "done" and put.call_count == 1


def test_unknown_statuses_warn_once_per_read(caplog):
    issue = copy.deepcopy(JSM.answer("issue_SUP-124"))
    issue["fields"]["status"] = {"id": "10099", "name": "Triage", "statusCategory": {"key": "undefined"}}
    ticket = reading.to_ticket(issue, [], [], {}, None, None, JSM.spec["settings"]["fields"], "sla_", {})
    assert ticket.status is TicketStatus.OPEN
    assert "status 'Triage' (10099) is not mapped" in caplog.text


def test_the_rate_limit_reset_is_read_as_jira_writes_it():
    from connector.platforms.jira_service_management.client import seconds_until

    now = datetime(2024, 5, 13, 7, 0, 30, tzinfo=UTC)
    assert seconds_until("2024-05-13T07:01Z", now) == 30.0
    assert seconds_until("2024-05-13T06:59Z", now) == 0.0
    assert seconds_until("soon", now) is None and seconds_until("2024-05-13T07:01", now) is None


@responses.activate(assert_all_requests_are_fired=True)
def test_a_429_with_only_the_reset_moment_is_retried_at_that_moment(runtime):
    headers, body = delivery(FIXTURES / JSM.name, "jira_issue_created")
    assert runtime.app.test_client().post(f"/webhooks/{JSM.name}", data=body, headers=headers).status_code == 202
    reset = (datetime.now(UTC) + timedelta(minutes=3)).replace(second=0, microsecond=0)
    JSM.expect(
        "GET",
        "/rest/api/3/issue/SUP-123",
        None,
        {"expand": "changelog"},
        status=429,
        headers={"X-RateLimit-Reset": reset.strftime("%Y-%m-%dT%H:%MZ"), "RateLimit-Reason": "jira-cost-based"},
    )
    clock = datetime.now(UTC) + timedelta(seconds=1)
    processor = Processor(runtime.engine, runtime.adapters, runtime.rules, clock=lambda: clock)
    assert Worker(runtime.store, processor, runtime.config.worker, clock=lambda: clock).run_once()
    event = runtime.store.list()[0]
    waited = (event.next_attempt_at - clock).total_seconds()
    assert event.status == "pending" and abs(waited - (reset - datetime.now(UTC)).total_seconds()) < 3
