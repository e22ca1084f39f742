"""Zendesk's KB lever (a user tag), portal registration and SLA alerts, against `responses`:
exact requests with documented answers (tests/fixtures/zendesk/api), and an in-memory Zendesk
(tests/support/zendesk_stub.py) behind `responses` callbacks for the bulk runs."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
import responses
from responses import matchers

from connector.core.errors import PlatformError
from connector.core.kb_access import GRANT, REVOKE, AccessChange, Desired, KbAccess, plan_access
from connector.platforms.base import Alert
from tests.support.http import all_fired_then_reset
from tests.support.zendesk import AUTH, BASE, adapter, answer, serve
from tests.support.zendesk_stub import FakeZendesk

CREATE_JOB = "82de0b044094f0c67893ac9fe64f1a99"
UPDATE_JOB = "8b726e606741012ffc2d782bcb7848fe"
REVOKE_JOB = "dd9321f29967688b27bc9499ebb4ae8d"


def grant(email: str, customer: str = "C001") -> AccessChange:
    return AccessChange(
        email, GRANT, "warranty of kompas_3d runs up to 2025-05-13", customer, date(2024, 5, 14), date(2025, 5, 13)
    )


def revoke(email: str) -> AccessChange:
    return AccessChange(email, REVOKE, "the warranty of kompas_3d has ended", "C003")


def quiet_adapter(**changes):
    """An adapter on a fake clock: waits are recorded and move the clock, nothing is slept."""
    a: Any = adapter(**changes)  # a test's own attribute on it: waits
    a.waits, now = [], [1000.0]

    def sleep(seconds: float) -> None:
        a.waits.append(round(seconds, 3))
        now[0] += seconds

    a.sleep, a.clock = sleep, lambda: now[0]
    return a


def expect(method: str, path: str, name: str, params: dict | None = None, body: dict | None = None, status: int = 200):
    match = [matchers.header_matcher({"Authorization": AUTH, "Accept": "application/json"})]
    match.append(matchers.query_param_matcher(params or {}))
    if body is not None:
        match.append(matchers.json_params_matcher(body))
    return responses.add(method, f"{BASE}{path}", json=answer(name), status=status, match=match)


def writes(fake: FakeZendesk, path: str) -> list:
    return [body for method, p, body in fake.requests if p.startswith(path) and method in ("POST", "PUT")]


# -- kb_holders --------------------------------------------------------------------------------


@responses.activate(assert_all_requests_are_fired=True)
def test_holders_are_read_from_the_search_export_over_every_page():
    first = {"query": "tags:kb_closed", "filter[type]": "user", "page[size]": "1000"}
    expect("GET", "/api/v2/search/export", "search_export_kb_page1", first)
    expect(
        "GET",
        "/api/v2/search/export",
        "search_export_kb_page2",
        {**first, "page[after]": answer("search_export_kb_page1")["meta"]["after_cursor"]},
    )
    holders = quiet_adapter().kb_holders()
    assert len(responses.calls) == 2
    # lower-cased; a prefix match (kb_closed_2019) that the search returned is not a holder
    assert holders == {"pavel@stroyproekt.example", "olga@stroyproekt.example", "ivan@zavod.example"}


@responses.activate(assert_all_requests_are_fired=True)
def test_the_tag_name_comes_from_the_options():
    expect(
        "GET",
        "/api/v2/search/export",
        "search_export_kb_page2",
        {"query": "tags:ascon_kb", "filter[type]": "user", "page[size]": "1000"},
    )
    assert quiet_adapter(options={"kb_tag": "ascon_kb"}).kb_holders() == set()


# -- apply_access: exact requests ----------------------------------------------------------------


@responses.activate(assert_all_requests_are_fired=True)
def test_grants_create_the_missing_user_and_add_the_tag_keeping_every_other_tag():
    plan = [grant("nina@stroyproekt.example"), grant("olga@stroyproekt.example"), grant("pavel@stroyproekt.example")]
    expect(
        "GET",
        "/api/v2/users/search",
        "users_search_grants",
        {
            "query": "email:nina@stroyproekt.example email:olga@stroyproekt.example email:pavel@stroyproekt.example",
            "per_page": "100",
            "page": "1",
        },
    )
    # the new user is created with the tag: one job, not a creation and then an update
    expect(
        "POST",
        "/api/v2/users/create_many",
        "job_status_queued_create",
        body={
            "users": [
                {"email": "nina@stroyproekt.example", "name": "nina", "skip_verify_email": True, "tags": ["kb_closed"]}
            ]
        },
    )
    expect("GET", "/api/v2/job_statuses/show_many", "job_statuses_create_done", {"ids": CREATE_JOB})
    expect("GET", "/api/v2/users/show_many", "users_show_many_grants", {"ids": "9002,9001"})
    expect(
        "PUT",
        "/api/v2/users/update_many",
        "job_status_queued_update",
        body={
            "users": [
                {"id": 9001, "tags": ["kb_closed", "kompas", "vip"]},  # vip and kompas survive
            ]
        },
    )
    expect("GET", "/api/v2/job_statuses/show_many", "job_statuses_update_working", {"ids": UPDATE_JOB})
    expect("GET", "/api/v2/job_statuses/show_many", "job_statuses_update_done", {"ids": UPDATE_JOB})
    a = quiet_adapter()
    outcomes = list(a.apply_access(plan))
    assert [(o.change.email, o.ok, o.detail) for o in outcomes] == [
        ("nina@stroyproekt.example", True, "created and granted"),
        ("olga@stroyproekt.example", True, "already"),
        ("pavel@stroyproekt.example", True, "granted"),
    ]
    assert len(responses.calls) == 7  # the job was still working at the first poll
    assert a.waits == [1.0, 1.0, 1.0]  # one poll interval before each job poll


@responses.activate(assert_all_requests_are_fired=True)
def test_revoke_removes_only_the_kb_tag_and_a_non_user_is_already_right():
    plan = [revoke("ivan@zavod.example"), revoke("nobody@zavod.example")]
    expect(
        "GET",
        "/api/v2/users/search",
        "users_search_revokes",
        {"query": "email:ivan@zavod.example email:nobody@zavod.example", "per_page": "100", "page": "1"},
    )
    expect("GET", "/api/v2/users/show_many", "users_show_many_revokes", {"ids": "9005"})
    # the fresh read has vip (added since the search index was built): it survives too
    expect(
        "PUT",
        "/api/v2/users/update_many",
        "job_status_queued_revoke",
        body={"users": [{"id": 9005, "tags": ["partner", "vip"]}]},
    )
    expect("GET", "/api/v2/job_statuses/show_many", "job_statuses_revoke_failed_one", {"ids": REVOKE_JOB})
    outcomes = list(quiet_adapter().apply_access(plan))
    assert [(o.change.email, o.ok, o.detail) for o in outcomes] == [
        ("ivan@zavod.example", True, "revoked"),
        ("nobody@zavod.example", True, "already: not a Zendesk user"),
    ]
    assert not any(c.request.method == "POST" for c in responses.calls)  # revoking never creates a user


@responses.activate(assert_all_requests_are_fired=True)
def test_a_failed_job_result_is_a_failed_outcome_with_its_error():
    fake = FakeZendesk()
    fake.add_user("ivan@zavod.example", ["kb_closed"])
    serve(fake, methods=("GET", "PUT"))  # every user exists: none is created
    original = fake._update_many

    def gone(query, body):  # the user was deleted between the read and the job
        fake.users.clear()
        return original(query, body)

    fake._update_many = gone  # type: ignore[method-assign]  # the fake's endpoint, replaced for this test
    [outcome] = quiet_adapter().apply_access([revoke("ivan@zavod.example")])
    assert not outcome.ok and outcome.detail == "RecordNotFound; User not found"


# -- apply_access: bulk, rate limits, failures (in-memory Zendesk) --------------------------------


def existing_contacts(fake: FakeZendesk, n: int) -> list[str]:
    emails = [f"user{i:03}@c{i % 7}.example" for i in range(n)]
    for i, email in enumerate(emails):
        fake.add_user(email, ["vip", f"region_{i % 3}"] if i % 2 else [])
    return sorted(emails)


@responses.activate(assert_all_requests_are_fired=True)
def test_250_grants_are_three_update_jobs_and_foreign_tags_survive():
    fake = FakeZendesk()
    emails = existing_contacts(fake, 250)
    serve(fake, methods=("GET", "PUT"))  # every user exists: none is created
    outcomes = list(quiet_adapter().apply_access([grant(e) for e in emails]))
    assert len(outcomes) == 250 and all(o.ok and o.detail == "granted" for o in outcomes)
    jobs = writes(fake, "/api/v2/users/update_many")
    assert [len(j["users"]) for j in jobs] == [100, 100, 50]
    assert not writes(fake, "/api/v2/users/create_or_update_many")  # everybody existed
    for job in jobs:
        for user in job["users"]:
            assert set(user) == {"id", "tags"} and "kb_closed" in user["tags"]
    for i in range(1, 250, 2):
        assert set(fake.tags_of(f"user{i:03}@c{i % 7}.example")) == {"vip", f"region_{i % 3}", "kb_closed"}
    polls = [p for m, p, _ in fake.requests if p.startswith("/api/v2/job_statuses/show_many")]
    assert len(polls) < 6  # jobs polled together


@responses.activate(assert_all_requests_are_fired=True)
def test_a_second_apply_of_the_same_plan_changes_nothing():
    fake = FakeZendesk()
    emails = existing_contacts(fake, 30)
    serve(fake)
    plan = [grant(e) for e in emails] + [grant("new.person@c1.example")]
    assert all(o.ok for o in quiet_adapter().apply_access(plan))
    before = len(fake.requests)
    again = list(quiet_adapter().apply_access(plan))
    assert all(o.ok and o.detail == "already" for o in again)
    assert [m for m, _, _ in fake.requests[before:]] == ["GET", "GET"]  # one lookup, one read; no write
    assert fake.tags_of("new.person@c1.example") == ["kb_closed"]


@responses.activate(assert_all_requests_are_fired=True)
def test_a_429_is_waited_out_for_its_retry_after_and_the_request_is_not_lost():
    fake = FakeZendesk()
    emails = existing_contacts(fake, 5)
    limited: list[str] = []

    def once(method, path):
        if path == "/api/v2/users/update_many" and not limited:
            limited.append(path)
            return 429
        return None

    fake.fault = once
    serve(fake, methods=("GET", "PUT"), retry_after="37")  # every user exists
    a = quiet_adapter()
    outcomes = list(a.apply_access([grant(e) for e in emails]))
    assert 37.0 in a.waits
    assert all(o.ok and o.detail == "granted" for o in outcomes)
    assert [m for m, p, _ in fake.requests if p == "/api/v2/users/update_many"] == ["PUT", "PUT"]
    assert all("kb_closed" in fake.tags_of(e) for e in emails)


@responses.activate(assert_all_requests_are_fired=True)
def test_a_5xx_half_way_raises_after_the_done_batches_and_a_resumed_sync_grants_nothing_twice():
    fake = FakeZendesk()
    emails = existing_contacts(fake, 250)
    updates = []

    def second_update_fails(method, path):
        if path == "/api/v2/users/update_many":
            updates.append(1)
            if len(updates) >= 2:
                return 503
        return None

    fake.fault = second_update_fails
    serve(fake, methods=("GET", "PUT"))  # every user exists: none is created
    desired = [Desired(e, "C001", KbAccess(True, "warranty", date(2024, 5, 14), date(2025, 5, 13))) for e in emails]
    a = quiet_adapter()
    seen = []
    with pytest.raises(PlatformError):
        for outcome in a.apply_access(plan_access(desired, a.kb_holders())):
            seen.append(outcome)
    assert len(seen) == 100 and all(o.ok for o in seen)  # the first batch, reported before the error
    assert len(updates) == 9  # the second batch's job: 8 attempts, all 503
    granted_once = {e for e in emails if "kb_closed" in fake.tags_of(e)}
    assert granted_once == {o.change.email for o in seen}

    fake.fault = None
    start = len(fake.requests)
    b = quiet_adapter()
    resumed = plan_access(desired, b.kb_holders())
    assert len(resumed) == 150 and not {c.email for c in resumed} & granted_once
    assert all(o.ok and o.detail == "granted" for o in b.apply_access(resumed))
    assert all(fake.tags_of(e).count("kb_closed") == 1 for e in emails)
    rewritten = {
        u["id"] for m, p, body in fake.requests[start:] if p == "/api/v2/users/update_many" for u in body["users"]
    }
    assert len(rewritten) == 150 and not rewritten & {fake.by_email[e] for e in granted_once}


@responses.activate(assert_all_requests_are_fired=True)
def test_requests_are_paced_when_the_account_limit_is_configured():
    fake = FakeZendesk()
    emails = existing_contacts(fake, 3)
    serve(fake, methods=("GET", "PUT"))  # every user exists: none is created
    a = quiet_adapter(options={"api_requests_per_minute": 600})
    list(a.apply_access([grant(e) for e in emails]))
    # lookup, read, update, poll: 0.1 s apart, the poll after the 1 s poll delay
    assert [m for m, _, _ in fake.requests] == ["GET", "GET", "PUT", "GET"]
    assert a.waits == [0.1, 0.1, 1.0]


# -- portal registration ---------------------------------------------------------------------------


@responses.activate(assert_all_requests_are_fired=True)
def test_portal_registration_adds_the_membership_once_then_reports_nothing_to_do():
    def lookup():
        expect(
            "GET",
            "/api/v2/users/search",
            "users_search_pavel",
            {"query": "email:pavel@stroyproekt.example", "per_page": "100", "page": "1"},
        )

    expect("GET", "/api/v2/organizations/search", "organizations_search_C001", {"external_id": "C001"})
    lookup()
    expect("GET", "/api/v2/users/9001/organization_memberships", "organization_memberships_9001_other")
    expect(
        "POST",
        "/api/v2/organization_memberships",
        "organization_membership_created",
        status=201,
        body={"organization_membership": {"user_id": 9001, "organization_id": 4001}},
    )
    a = quiet_adapter()
    done = a.register_portal_user("Pavel@StroyProekt.example", "Pavel Customer", "C001", "StroyProekt", None)
    assert done == "added pavel@stroyproekt.example (user 9001) to organisation 4001"
    all_fired_then_reset()
    lookup()
    expect("GET", "/api/v2/users/9001/organization_memberships", "organization_memberships_9001_both")
    assert a.register_portal_user("pavel@stroyproekt.example", "Pavel Customer", "C001", "StroyProekt", "4001") is None
    assert [c.request.method for c in responses.calls] == ["GET", "GET"]  # org id given: no org lookup


@responses.activate(assert_all_requests_are_fired=True)
def test_portal_registration_creates_the_organisation_and_the_user():
    expect("GET", "/api/v2/organizations/search", "organizations_search_none", {"external_id": "C002"})
    expect("GET", "/api/v2/organizations/search", "organizations_search_none", {"name": "Zavod"})
    expect(
        "POST",
        "/api/v2/organizations/create_or_update",
        "organization_created_C002",
        status=201,
        body={"organization": {"name": "Zavod", "external_id": "C002"}},
    )
    expect(
        "GET",
        "/api/v2/users/search",
        "users_search_empty",
        {"query": "email:nina@zavod.example", "per_page": "100", "page": "1"},
    )
    expect(
        "POST",
        "/api/v2/users/create_or_update",
        "user_created_9020",
        status=201,
        body={
            "user": {
                "email": "nina@zavod.example",
                "name": "Nina Technologist",
                "organization_id": 4002,
                "skip_verify_email": True,
            }
        },
    )
    done = quiet_adapter().register_portal_user("nina@zavod.example", "Nina Technologist", "C002", "Zavod", None)
    assert done == (
        "created organisation 4002 for C002; registered nina@zavod.example as user 9020 in organisation 4002"
    )
    assert len(responses.calls) == 5


def new_user_in(org: int) -> None:
    expect(
        "GET",
        "/api/v2/users/search",
        "users_search_empty",
        {"query": "email:nina@zavod.example", "per_page": "100", "page": "1"},
    )
    answer_ = answer("user_created_9020")
    answer_["user"]["organization_id"] = org
    responses.add(
        "POST",
        f"{BASE}/api/v2/users/create_or_update",
        json=answer_,
        status=201,
        match=[
            matchers.json_params_matcher(
                {
                    "user": {
                        "email": "nina@zavod.example",
                        "name": "Nina Technologist",
                        "organization_id": org,
                        "skip_verify_email": True,
                    }
                }
            )
        ],
    )


@responses.activate(assert_all_requests_are_fired=True)
def test_an_organisation_an_admin_made_by_hand_is_found_by_name_not_created_again():
    """A customer without platform_ids whose organisation exists by name: Zendesk would refuse a
    second one (422, name taken), and every event of that requester was dead-lettered."""
    expect("GET", "/api/v2/organizations/search", "organizations_search_none", {"external_id": "C002"})
    expect("GET", "/api/v2/organizations/search", "organizations_search_name_zavod", {"name": "Zavod"})
    new_user_in(4010)
    done = quiet_adapter().register_portal_user("nina@zavod.example", "Nina Technologist", "C002", "Zavod", None)
    assert done == "registered nina@zavod.example as user 9020 in organisation 4010"


@responses.activate(assert_all_requests_are_fired=True)
def test_an_organisation_created_meanwhile_is_taken_when_zendesk_says_the_name_is_taken():
    expect("GET", "/api/v2/organizations/search", "organizations_search_none", {"external_id": "C002"})
    expect("GET", "/api/v2/organizations/search", "organizations_search_none", {"name": "Zavod"})
    expect("POST", "/api/v2/organizations/create_or_update", "error_422_name_taken", status=422)
    expect("GET", "/api/v2/organizations/search", "organizations_search_name_zavod", {"name": "Zavod"})
    new_user_in(4010)
    done = quiet_adapter().register_portal_user("nina@zavod.example", "Nina Technologist", "C002", "Zavod", None)
    assert done == "registered nina@zavod.example as user 9020 in organisation 4010"


@responses.activate(assert_all_requests_are_fired=True)
def test_already_a_member_is_success_when_two_tickets_race():
    """Several tickets of one new requester processed at once: the losers get 422 'already a
    member of this organization'; that is success, not a failure."""
    expect(
        "GET",
        "/api/v2/users/search",
        "users_search_pavel",
        {"query": "email:pavel@stroyproekt.example", "per_page": "100", "page": "1"},
    )
    expect("GET", "/api/v2/users/9001/organization_memberships", "organization_memberships_9001_other")
    expect(
        "POST",
        "/api/v2/organization_memberships",
        "error_422_already_member",
        status=422,
        body={"organization_membership": {"user_id": 9001, "organization_id": 4001}},
    )
    assert (
        quiet_adapter().register_portal_user("pavel@stroyproekt.example", None, "C001", "StroyProekt", "4001") is None
    )


# -- alerts -----------------------------------------------------------------------------------------


@responses.activate(assert_all_requests_are_fired=True)
def test_alert_is_one_put_with_tags_an_internal_note_and_the_priority():
    note = "SLA warning: 75% of the first response target used (due 2024-05-14 18:00 MSK)."
    responses.put(
        f"{BASE}/api/v2/tickets/123.json",
        json=answer("ticket_123_updated"),
        match=[
            matchers.json_params_matcher(
                {
                    "ticket": {
                        "additional_tags": ["sla_first_response_75", "sla_warning"],
                        "comment": {"body": note, "public": False},
                        "priority": "urgent",
                    }
                }
            ),
            matchers.header_matcher({"Authorization": AUTH, "Content-Type": "application/json"}),
        ],
    )
    alert = Alert("123", ("sla_warning", "sla_first_response_75", "sla_warning"), note, "urgent")
    assert quiet_adapter().alert(alert) is True
    assert len(responses.calls) == 1


@responses.activate(assert_all_requests_are_fired=True)
def test_an_empty_alert_writes_nothing():
    assert quiet_adapter().alert(Alert("123")) is False
    assert len(responses.calls) == 0


def test_the_adapter_says_what_it_supports():
    assert quiet_adapter().supports == frozenset({"kb", "portal", "alert"})


@responses.activate(assert_all_requests_are_fired=True)
def test_a_user_the_search_missed_is_refused_by_create_many_and_updated_keeping_its_tags():
    fake = FakeZendesk()
    lagging = fake.add_user("late@c1.example", ["vip"])
    serve(fake)
    original = fake._search

    def stale(query, body):  # the search index does not have the user yet
        status, answer = original(query, body)
        return status, {**answer, "users": [u for u in answer["users"] if u["id"] != lagging]}

    fake._search = stale  # type: ignore[method-assign]  # the fake's endpoint, replaced for this test
    [outcome] = quiet_adapter().apply_access([grant("late@c1.example")])
    assert outcome.ok and outcome.detail == "granted"
    assert set(fake.tags_of("late@c1.example")) == {"vip", "kb_closed"}  # its own tag survives
    assert [p.split("?")[0] for m, p, _ in fake.requests if m == "POST"] == [
        "/api/v2/users/create_many",
        "/api/v2/users/create_or_update_many",
    ]


@responses.activate(assert_all_requests_are_fired=True)
def test_inside_an_event_lease_a_grant_is_synchronous_calls_and_nothing_waits():
    from connector.platforms.client import within_lease

    plan = [grant("olga@stroyproekt.example")]
    expect(
        "GET",
        "/api/v2/users/search",
        "users_search_grants",
        {"query": "email:olga@stroyproekt.example", "per_page": "100", "page": "1"},
    )
    responses.add(
        "PUT",
        f"{BASE}/api/v2/users/9002/tags",
        json={"tags": ["kb_closed", "vip"]},
        match=[
            matchers.json_params_matcher({"tags": ["kb_closed"]}),
            matchers.header_matcher({"Authorization": AUTH, "X-Connector-Event": "77"}),
        ],
    )
    a = quiet_adapter(options={"api_requests_per_minute": 1})  # pacing would wait a minute outside a lease
    with within_lease("77"):
        outcomes = list(a.apply_access(plan))
    assert [(o.ok, o.detail) for o in outcomes] == [(True, "granted")] and a.waits == []


@responses.activate(assert_all_requests_are_fired=True)
def test_inside_an_event_lease_a_429_is_raised_at_once_with_its_retry_after():
    from connector.platforms.client import within_lease

    responses.add("GET", f"{BASE}/api/v2/users/search", status=429, headers={"Retry-After": "37"}, json={})
    a = quiet_adapter()
    with within_lease("78"), pytest.raises(PlatformError) as caught:
        list(a.apply_access([grant("olga@stroyproekt.example")]))
    assert caught.value.retry_after == 37 and a.waits == [] and len(responses.calls) == 1
