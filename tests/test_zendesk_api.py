"""Zendesk Support API: reading a ticket into the domain and writing the plan back, with
`responses` asserting every outbound call (exact URL, query, JSON body, auth header)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
import responses
from responses import matchers

from connector.core.errors import BadInput, PlatformError, PlatformRejected
from connector.core.sla import ClockState, SlaReading
from connector.core.ticket import Carried, StatusAt, Ticket, TicketStatus, WriteBack
from connector.platforms.zendesk import ZendeskAdapter
from tests.support.zendesk import AUTH, BASE, adapter, answer, expect_ticket_123, get, settings

UTC = UTC
MSK = timezone(timedelta(hours=3))


# -- fetch_ticket ----------------------------------------------------------------------------


@responses.activate(assert_all_requests_are_fired=True)
def test_fetch_ticket_reads_everything_in_three_calls():
    expect_ticket_123()
    ticket = adapter().fetch_ticket("123")
    assert len(responses.calls) == 3  # ticket + 2 pages of audits; users came side-loaded
    assert ticket.platform == "zendesk" and ticket.id == "123"
    assert ticket.created_at == datetime(2024, 5, 13, 7, 0, tzinfo=UTC)
    assert ticket.requester_email == "pavel@stroyproekt.example"
    assert ticket.organisation_id == "4001"
    assert (ticket.product, ticket.request_type, ticket.topic, ticket.channel) == (
        "kompas_3d",
        "information",
        "functionality",
        "portal",
    )
    assert list(ticket.statuses) == [
        StatusAt(datetime(2024, 5, 13, 7, 0, tzinfo=UTC), TicketStatus.NEW),
        StatusAt(datetime(2024, 5, 13, 7, 0, 1, tzinfo=UTC), TicketStatus.OPEN),
        StatusAt(datetime(2024, 5, 13, 10, 15, 3, tzinfo=UTC), TicketStatus.PENDING),
        StatusAt(datetime(2024, 5, 14, 6, 0, tzinfo=UTC), TicketStatus.OPEN),
    ]
    # not the requester's own comments, not the agent's private note: the agent's public reply
    assert ticket.first_response_at == datetime(2024, 5, 13, 10, 15, 3, tzinfo=UTC)
    assert ticket.carried == Carried(
        tier="warranty",
        first_response_due=datetime(2024, 5, 14, 10, 0, tzinfo=MSK),
        resolution_due=datetime(2024, 5, 20, 10, 0, tzinfo=MSK),
        flags=frozenset({"unknown_product"}),
        assignee="irina@ascon.example",
    )


@responses.activate(assert_all_requests_are_fired=True)
def test_a_logged_phone_call_is_no_reply_and_missing_users_are_fetched_in_one_batch():
    get("/api/v2/tickets/124.json", answer("ticket_124"), {"include": "users"})
    get("/api/v2/tickets/124/audits.json", answer("ticket_124_audits"), {"include": "users", "page[size]": "100"})
    get("/api/v2/users/show_many.json", answer("users_show_many_9003"), {"ids": "9003"})
    ticket = adapter().fetch_ticket("124")
    assert len(responses.calls) == 3
    assert ticket.requester_email == "maria@zavod.example"
    assert ticket.organisation_id == "4003"  # the ticket has none: the requester's
    assert ticket.channel == "phone"
    assert ticket.first_response_at is None  # the agent's comment is the request itself
    assert ticket.request_type is None and ticket.kind == "error"  # no type given: the core's default
    assert ticket.product is None and ticket.topic is None
    assert ticket.status_history(datetime(2024, 5, 14, tzinfo=UTC)) == [
        StatusAt(datetime(2024, 5, 13, 12, 40, tzinfo=UTC), TicketStatus.NEW)
    ]
    assert ticket.carried == Carried()  # empty fields, no prefixed tags, no assignee


@pytest.mark.parametrize("bad_id", ["12a", "../users/1", ""])
def test_fetch_ticket_refuses_what_is_not_a_ticket_id(bad_id):
    with pytest.raises(BadInput):
        adapter().fetch_ticket(bad_id)


@responses.activate(assert_all_requests_are_fired=True)
def test_429_gives_a_platform_error_with_retry_after():
    get(
        "/api/v2/tickets/123.json", answer("error_429"), {"include": "users"}, status=429, headers={"Retry-After": "37"}
    )
    with pytest.raises(PlatformError) as caught:
        adapter().fetch_ticket("123")
    assert caught.value.transient and caught.value.status == 429 and caught.value.retry_after == 37.0


@responses.activate(assert_all_requests_are_fired=True)
def test_500_is_a_transient_platform_error():
    get("/api/v2/tickets/123.json", {"error": "InternalError"}, {"include": "users"}, status=500)
    with pytest.raises(PlatformError) as caught:
        adapter().fetch_ticket("123")
    assert caught.value.transient and caught.value.status == 500
    assert not isinstance(caught.value, PlatformRejected)


@responses.activate(assert_all_requests_are_fired=True)
def test_404_is_rejected_for_good():
    get("/api/v2/tickets/123.json", answer("error_404"), {"include": "users"}, status=404)
    with pytest.raises(PlatformRejected) as caught:
        adapter().fetch_ticket("123")
    assert not caught.value.transient and caught.value.status == 404


def test_client_needs_credentials():
    with pytest.raises(BadInput):
        ZendeskAdapter.client_for(settings(credentials={"email": "connector@ascon.example"}))


# -- write_back ------------------------------------------------------------------------------

READING = SlaReading(ClockState.RUNNING, None, timedelta(0), timedelta(0), None, None, None, None)
NOW_CARRIED = Carried(
    tier="warranty",
    first_response_due=datetime(2024, 5, 14, 10, 0, tzinfo=MSK),
    resolution_due=datetime(2024, 5, 20, 10, 0, tzinfo=MSK),
    flags=frozenset({"unknown_product"}),
    assignee="irina@ascon.example",
)
TICKET = Ticket(
    platform="zendesk",
    id="123",
    created_at=datetime(2024, 5, 13, 7, 0, tzinfo=UTC),
    requester_email="pavel@stroyproekt.example",
    carried=NOW_CARRIED,
)


def plan(desired: Carried, note: str | None = None, carried: Carried = NOW_CARRIED) -> WriteBack:
    return WriteBack(desired, carried.differences(desired), note, READING, READING)


def expect_put(body: dict):
    return responses.put(
        f"{BASE}/api/v2/tickets/123.json",
        json=answer("ticket_123_updated"),
        match=[
            matchers.json_params_matcher(body),
            matchers.header_matcher({"Authorization": AUTH, "Content-Type": "application/json"}),
        ],
    )


@responses.activate(assert_all_requests_are_fired=True)
def test_write_back_sends_only_what_changed_in_one_put():
    desired = Carried(
        tier="individual",
        first_response_due=datetime(2024, 5, 13, 15, 0, tzinfo=MSK),
        resolution_due=None,
        flags=frozenset({"outside_tier_scope"}),
        assignee="oleg@ascon.example",
    )
    note = "Support tier: individual (was warranty). first response due 2024-05-13 15:00 MSK"
    expect_put(
        {
            "ticket": {
                "custom_fields": [
                    {"id": 360001, "value": "individual"},
                    {"id": 360002, "value": "2024-05-13T15:00:00+03:00"},
                    {"id": 360003, "value": None},
                ],
                "additional_tags": ["sla_outside_tier_scope"],
                "remove_tags": ["sla_unknown_product"],  # never "kompas" or "vip": not ours
                "assignee_email": "oleg@ascon.example",
                "comment": {"body": note, "public": False},
            }
        }
    )
    assert adapter().write_back(TICKET, plan(desired, note)) is True
    assert len(responses.calls) == 1


@responses.activate(assert_all_requests_are_fired=True)
def test_write_back_of_one_due_date_sends_that_field_alone():
    desired = Carried(
        tier="warranty",
        first_response_due=NOW_CARRIED.first_response_due,
        resolution_due=datetime(2024, 5, 21, 10, 0, tzinfo=MSK),
        flags=NOW_CARRIED.flags,
        assignee=NOW_CARRIED.assignee,
    )
    expect_put({"ticket": {"custom_fields": [{"id": 360003, "value": "2024-05-21T10:00:00+03:00"}]}})
    adapter().write_back(TICKET, plan(desired))
    assert len(responses.calls) == 1


@responses.activate(assert_all_requests_are_fired=True)
def test_a_tier_dropdown_gets_its_option_value():
    desired = Carried(
        tier="individual",
        first_response_due=NOW_CARRIED.first_response_due,
        resolution_due=NOW_CARRIED.resolution_due,
        flags=NOW_CARRIED.flags,
        assignee=NOW_CARRIED.assignee,
    )
    expected = {"ticket": {"custom_fields": [{"id": 360001, "value": "tier_individual"}]}}
    expect_put(expected)
    dropdown = adapter(options={"tier_values": {"individual": "tier_individual", "warranty": "tier_warranty"}})
    assert dropdown.write_back(TICKET, plan(desired)) is True
    [put] = responses.calls  # the one PUT, nothing else
    assert put.request.method == "PUT" and put.request.url == f"{BASE}/api/v2/tickets/123.json"
    assert json.loads(put.request.body) == expected  # the option's value, not the tier's code


@responses.activate(assert_all_requests_are_fired=True)
def test_nothing_changed_means_no_call_at_all():
    assert adapter().write_back(TICKET, plan(NOW_CARRIED)) is False
    assert len(responses.calls) == 0


@responses.activate(assert_all_requests_are_fired=True)
def test_what_was_read_and_written_back_compares_equal():
    """A due date written and read again is the same instant: no endless rewrites."""
    expect_ticket_123()
    ticket = adapter().fetch_ticket("123")
    assert ticket.carried.differences(NOW_CARRIED) == frozenset()


@responses.activate(assert_all_requests_are_fired=True)
def test_a_rate_limited_write_raises_with_retry_after():
    responses.put(
        f"{BASE}/api/v2/tickets/123.json", json=answer("error_429"), status=429, headers={"Retry-After": "60"}
    )
    desired = Carried(tier="basic")
    with pytest.raises(PlatformError) as caught:
        adapter().write_back(TICKET, plan(desired))
    assert caught.value.retry_after == 60.0


@responses.activate(assert_all_requests_are_fired=True)
def test_a_note_alone_is_one_internal_comment():
    expect_put({"ticket": {"comment": {"body": "Support tier: warranty.", "public": False}}})
    adapter().write_back(TICKET, plan(NOW_CARRIED, "Support tier: warranty."))
    assert len(responses.calls) == 1


@responses.activate(assert_all_requests_are_fired=True)
def test_the_alerts_own_tags_are_no_flags_so_a_write_back_keeps_them():
    """An SLA warning adds sla_warn_first_response_75; reading it as a flag made the next write-back
    remove it (the desired flags never hold it)."""
    expect_ticket_123()
    responses.replace(
        responses.GET,
        f"{BASE}/api/v2/tickets/123.json",
        json=with_tags("sla_unknown_product", "sla_warn_first_response_75", "sla_breached_resolution"),
    )
    ticket = adapter().fetch_ticket("123")
    assert ticket.carried.flags == {"unknown_product"}


def with_tags(*tags: str) -> dict:
    doc = answer("ticket_123")
    doc["ticket"]["tags"] = ["kompas", *tags]
    return doc
