"""Reading and writing Freshdesk tickets beyond the shared contract: Freshdesk's own due dates
mirrored only where its validation allows, the current status without a history, who is an agent,
and a 429 on the write that the worker waits out exactly (Retry-After)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
import responses

from connector.core.ticket import Author, Carried, TicketStatus, WriteBack
from connector.pipeline.process import Processor
from connector.pipeline.worker import Worker
from connector.platforms.freshdesk import reading, writing
from connector.storage.registry_import import import_registry
from connector.web import create_app
from tests.support.contract import delivery
from tests.support.http import all_fired_then_reset
from tests.support.saas import FIXTURES, Platform

FD = Platform("freshdesk")
FIELDS = FD.spec["settings"]["fields"]
UTC = UTC


def at(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def ticket_124(**changes):
    doc = {**FD.answer("ticket_124"), **changes}
    return doc, reading.to_ticket(doc, [], set(), None, FIELDS, "sla_", {})


def plan(fr, res, changed=("first_response_due", "resolution_due")):
    desired = Carried(first_response_due=fr, resolution_due=res)
    return WriteBack(desired, frozenset(changed), None, None, None)


# ticket 124 was created 2024-05-13T08:00Z; Freshdesk holds fr_due_by 2024-05-14T08:00Z, due_by 2024-05-16T08:00Z
@pytest.mark.parametrize(
    "status,fr,res,options,sent",
    [
        (
            2,
            "2024-05-13T12:00Z",
            "2024-05-15T08:00Z",
            {},
            {"fr_due_by": "2024-05-13T12:00:00Z", "due_by": "2024-05-15T08:00:00Z"},
        ),
        (3, "2024-05-13T12:00Z", "2024-05-15T08:00Z", {}, {}),  # Pending: the SLA timer is off
        (4, "2024-05-13T12:00Z", "2024-05-15T08:00Z", {"sla_timer_off_statuses": []}, {}),  # Resolved: always off
        (6, "2024-05-13T12:00Z", None, {"sla_timer_off_statuses": [6]}, {}),
        (6, "2024-05-13T12:00Z", None, {}, {"fr_due_by": "2024-05-13T12:00:00Z"}),  # not regulated: due_by untouched
        (2, "2024-05-17T12:00Z", None, {}, {}),  # later than the ticket's due_by
        (2, "2024-05-16T12:00Z", "2024-05-15T08:00Z", {}, {"due_by": "2024-05-15T08:00:00Z"}),  # fr after our due
        (2, None, "2024-05-13T10:00Z", {}, {}),  # the ticket's fr_due_by (14th) would be later than this due_by
        (2, "2024-05-13T07:00Z", "2024-05-15T08:00Z", {}, {"due_by": "2024-05-15T08:00:00Z"}),  # before creation
        (2, "2024-05-14T08:00Z", "2024-05-16T08:00Z", {}, {}),  # Freshdesk holds them already
        (2, "2024-05-13T12:00Z", "2024-05-15T08:00Z", {"write_due_by": False}, {}),
    ],
)
def test_freshdesks_own_due_dates_are_sent_only_where_its_validation_allows(status, fr, res, options, sent):
    doc, ticket = ticket_124(status=status)
    dues = writing.freshdesk_dues(ticket, plan(fr and at(fr), res and at(res)), doc, options)
    assert dues == sent


def test_the_cf_fields_always_take_the_connectors_moments_even_when_freshdesk_would_refuse():
    doc, ticket = ticket_124(status=3)
    fr = datetime(2024, 5, 13, 15, 0, 0, 250000, tzinfo=timezone(timedelta(hours=3)))
    body = writing.update_body(ticket, plan(fr, None), FIELDS, "sla_", {}, doc, None)
    assert body == {
        "custom_fields": {"cf_first_response_due": "2024-05-13T15:00:00.250000+03:00", "cf_resolution_due": None}
    }


def test_tags_keep_every_tag_the_connector_does_not_own():
    doc, ticket = ticket_124(tags=["vertical", "sla_unknown_product", "sla_warn_resolution_75", "vip"])
    assert ticket.carried.flags == {"unknown_product"}
    flags = Carried(flags=frozenset({"outside_tier_scope"}))
    desired = WriteBack(flags, frozenset({"flags"}), None, None, None)
    assert writing.update_body(ticket, desired, FIELDS, "sla_", {}, doc, None) == {
        "tags": ["vertical", "sla_warn_resolution_75", "vip", "sla_outside_tier_scope"]
    }


@pytest.mark.parametrize(
    "code,mapping,want",
    [
        (2, {}, TicketStatus.OPEN),
        (3, {}, TicketStatus.PENDING),
        (4, {}, TicketStatus.SOLVED),
        (5, {}, TicketStatus.CLOSED),
        (6, {}, TicketStatus.HOLD),
        (6, {"6": "pending"}, TicketStatus.PENDING),
        (3, {"3": "hold"}, TicketStatus.HOLD),
    ],
)
def test_statuses_map_by_options_then_freshdesks_own(code, mapping, want):
    assert reading.common_status(code, mapping) is want


def test_a_ticket_reports_its_current_status_since_the_stats_say_and_no_history():
    ticket = reading.to_ticket(FD.answer("ticket_123"), [], set(), None, FIELDS, "sla_", {})
    assert ticket.statuses == () and ticket.status is TicketStatus.PENDING
    assert ticket.status_since == at("2024-05-13T10:15:03Z")
    history = ticket.status_history(at("2024-05-15T12:00:00Z"))
    assert [(h.at, h.status) for h in history] == [
        (at("2024-05-13T07:00:00Z"), TicketStatus.NEW),
        (at("2024-05-13T10:15:03Z"), TicketStatus.PENDING),
    ]


@responses.activate(assert_all_requests_are_fired=True)
def test_an_outgoing_reply_by_someone_who_is_not_an_agent_is_not_a_first_response():
    doc = {**FD.answer("ticket_123"), "responder_id": None}
    conversations = FD.answer("ticket_123_conversations")
    FD.expect("GET", "/api/v2/tickets/123", doc, {"include": "requester,company,stats"})
    FD.expect("GET", "/api/v2/tickets/123/conversations", conversations, {"page": "1", "per_page": "100"})
    FD.expect("GET", "/api/v2/agents/5001", {"code": "RecordNotFound"}, status=404)
    ticket = FD.adapter().fetch_ticket("123")
    assert [c.author for c in ticket.comments] == [Author.REQUESTER, Author.END_USER, Author.END_USER]
    assert ticket.first_response_at is None and ticket.carried.assignee is None


@responses.activate(assert_all_requests_are_fired=True)
def test_conversations_are_read_page_by_page():
    page = FD.answer("ticket_123_conversations")
    FD.expect("GET", "/api/v2/tickets/123", "ticket_123", {"include": "requester,company,stats"})
    FD.expect("GET", "/api/v2/tickets/123/conversations", [page[0]] * 100, {"page": "1", "per_page": "100"})
    FD.expect("GET", "/api/v2/tickets/123/conversations", page[1:], {"page": "2", "per_page": "100"})
    FD.expect("GET", "/api/v2/agents/5001", "agent_5001")
    assert len(FD.adapter().fetch_ticket("123").comments) == 1 + 101


@pytest.fixture
def runtime(migrated_sqlite):
    app = create_app(test_config={"database_url": migrated_sqlite("fd.db"), "platforms": {FD.name: FD.settings()}})
    runtime = app.extensions["connector"]
    import_registry(FD.spec["folder"] / "registry.json", runtime.engine)
    runtime.app = app
    yield runtime
    runtime.close()


@responses.activate(assert_all_requests_are_fired=True)
def test_a_429_on_the_write_is_waited_out_exactly_then_the_write_lands(runtime):
    headers, body = delivery(FIXTURES / FD.name, "ticket_updated")
    assert runtime.app.test_client().post(f"/webhooks/{FD.name}", data=body, headers=headers).status_code == 202
    case = FD.spec["tickets"]["123"]
    rate = json.loads((FD.spec["folder"] / "api" / "error_429.headers.json").read_text(encoding="utf-8"))

    def reads():
        for call in case["reads"]:
            FD.expect("GET", call["path"], call["answer"][4:-5], call.get("query"))

    reads()
    write = case["writes"][0]
    FD.expect("PUT", write["path"], "error_429", body=write["body"], status=429, headers=rate)
    clock = [datetime.now(UTC) + timedelta(seconds=1)]
    processor = Processor(runtime.engine, runtime.adapters, runtime.rules, clock=lambda: at(case["now"]))
    worker = Worker(runtime.store, processor, runtime.config.worker, clock=lambda: clock[0])
    assert worker.run_once()
    event = runtime.store.list()[0]
    assert event.status == "pending" and event.next_attempt_at == clock[0] + timedelta(seconds=32)
    all_fired_then_reset()
    reads()
    put = FD.expect("PUT", write["path"], "ticket_123_written", body=write["body"])
    clock[0] = event.next_attempt_at
    assert worker.run_once()
    assert runtime.store.list()[0].status == "done" and put.call_count == 1


@responses.activate(assert_all_requests_are_fired=True)
def test_a_write_without_a_read_in_this_process_reads_the_tags_first():
    _, ticket = ticket_124(tags=["vertical"])
    FD.expect("GET", "/api/v2/tickets/124", {**FD.answer("ticket_124"), "tags": ["vertical", "vip"]})
    put = FD.expect("PUT", "/api/v2/tickets/124", "ticket_124_written", body={"tags": ["vertical", "vip", "sla_x"]})
    desired = WriteBack(Carried(flags=frozenset({"x"})), frozenset({"flags"}), None, None, None)
    assert FD.adapter().write_back(ticket, desired) and put.call_count == 1
