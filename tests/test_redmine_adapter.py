"""The Redmine adapter's reading and writing, table-driven on the real captures of
tests/fixtures/redmine/api/ (the contract suite runs the recorded end-to-end cases; these cover the
rules one by one): who wrote a note, statuses, fields as read; the write-back's PUT, its read-back,
Redmine's 422s and the start date. Outbound HTTP with `responses`, strict on headers and bodies."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import responses
from responses import matchers

from connector.config.calendars import build_calendar
from connector.config.settings import PlatformSettings, config_from_mapping
from connector.core.errors import BadInput, PlatformRejected, ValidationFailed
from connector.core.ticket import Author, Carried, Target, TicketStatus, plan_write_back
from connector.platforms import settings_schemas
from connector.platforms.redmine import RedmineAdapter, reading, writing
from connector.platforms.redmine.options import zone

API = Path(__file__).parent / "fixtures" / "redmine" / "api"
BASE, KEY = "http://redmine.test", "unit-test-redmine-key-0123456789abcdef"
FIELDS = {
    "tier": "1",
    "first_response_due": "2",
    "resolution_due": "3",
    "flags": "4",
    "product": "5",
    "request_type": "6",
    "topic": "7",
}
HEADERS = matchers.header_matcher({"X-Redmine-API-Key": KEY, "Accept": "application/json"})
CALENDAR = build_calendar("default")
H = timedelta(hours=1)
MSK = zone({})  # the default: Europe/Moscow


def capture(name: str) -> dict:
    return json.loads((API / f"{name}.json").read_text(encoding="utf-8"))


SECRET = "whsec_cmVkbWluZS1maXh0dXJlLXNpZ25pbmctc2VjcmV0ISE="  # tests/fixtures/redmine/README.md


def adapter(**options) -> RedmineAdapter:
    settings = PlatformSettings("redmine", BASE, SECRET, credentials={"api_key": KEY}, fields=FIELDS, options=options)
    return RedmineAdapter(settings, RedmineAdapter.client_for(settings))


# The users of the first fixture run (api/README.md): 9 ivan (the author, a Reporter), 7 anna (a
# Developer member of project 1), 5 the connector, 8 boris (Developer).
ANNA = capture("get_user__memberships_groups")["user"]
USERS = {
    9: capture("get_user")["user"],
    7: ANNA,
    5: capture("get_user_current")["user"],
    8: {**ANNA, "id": 8, "login": "boris", "mail": "Boris@Vendor.example"},
}


def test_the_first_fixture_runs_issue_reads_as_its_facts():
    issue = capture("get_issue_with_journals__final")["issue"]
    ticket = reading.to_ticket(issue, USERS, FIELDS, {})
    assert (ticket.requester_email, ticket.requester_name, ticket.product, ticket.request_type, ticket.topic) == (
        "Ivan.Petrov@Customer.example",
        "Ivan Petrov",
        "KOMPAS-3D",
        "error",
        "installation",
    )
    assert [(c.author, c.public, c.opening) for c in ticket.comments] == [
        (Author.REQUESTER, True, True),
        (Author.AGENT, True, False),
        (Author.AGENT, False, False),
        (Author.CONNECTOR, False, False),
        (Author.AGENT, False, False),
        (Author.AGENT, True, False),
    ]
    assert [s.status for s in ticket.statuses] == [TicketStatus.NEW, TicketStatus.PENDING, TicketStatus.CLOSED]
    assert ticket.status is TicketStatus.CLOSED
    assert ticket.first_response_at == datetime(2026, 12, 1, 9, 52, 13, tzinfo=UTC)  # anna's reply
    # custom field 999 of put_issue__unknown_custom_field left no trace; null cleared flags (4) to ""
    assert ticket.carried == Carried(
        "warranty",
        datetime.fromisoformat("2026-12-02T10:00:00+03:00"),
        datetime.fromisoformat("2026-12-08T10:00:00+03:00"),
        frozenset(),
        "boris@vendor.example",
    )
    assert (ticket.start_date.isoformat(), ticket.due_date, ticket.assignee_id, ticket.last_journal_id) == (
        "2026-12-01",
        "2026-12-08",
        8,
        9,
    )


@pytest.mark.parametrize(
    "user,options,author",
    [
        ({"admin": True, "memberships": []}, {}, Author.AGENT),
        ({"memberships": [{"project": {"id": 1}, "roles": [{"id": 4, "name": "Developer"}]}]}, {}, Author.AGENT),
        ({"memberships": [{"project": {"id": 1}, "roles": [{"id": 3, "name": "MANAGER"}]}]}, {}, Author.AGENT),
        (
            {"memberships": [{"project": {"id": 1}, "roles": [{"id": 4, "name": "Developer", "inherited": True}]}]},
            {},
            Author.AGENT,
        ),  # through a group
        ({"memberships": [{"project": {"id": 1}, "roles": [{"id": 5, "name": "Reporter"}]}]}, {}, Author.END_USER),
        ({"memberships": [{"project": {"id": 2}, "roles": [{"id": 4, "name": "Developer"}]}]}, {}, Author.END_USER),
        (
            {"memberships": [{"project": {"id": 1}, "roles": [{"id": 5, "name": "Reporter"}]}]},
            {"staff_roles": [5]},
            Author.AGENT,
        ),
        (
            {"memberships": [{"project": {"id": 1}, "roles": [{"id": 7, "name": "Support"}]}]},
            {"staff_roles": ["support"]},
            Author.AGENT,
        ),
        ({"login": "Connector", "admin": True}, {}, Author.CONNECTOR),
        ({"login": "robot", "admin": True}, {"connector_login": "robot"}, Author.CONNECTOR),
        (None, {}, Author.END_USER),  # deleted: Redmine shows "Anonymous", the API has no such user
    ],
)
def test_who_wrote_a_note(user, options, author):
    issue = {"project": {"id": 1}, "author": {"id": 9}}
    users = {} if user is None else {7: {"login": "someone", "admin": False, **user}}
    assert reading.author_of(7, issue, users, options) is author
    assert reading.author_of(9, issue, users, options) is Author.REQUESTER


def test_a_public_note_by_a_non_staff_colleague_is_no_first_response():
    issue = capture("get_issue_with_journals")["issue"]
    colleague = {**USERS[7], "memberships": [{"project": {"id": 1}, "roles": [{"id": 5, "name": "Reporter"}]}]}
    ticket = reading.to_ticket(issue, {**USERS, 7: colleague}, FIELDS, {})
    assert ticket.comments[1].author is Author.END_USER and ticket.first_response_at is None


@pytest.mark.parametrize(
    "status,options,expected",
    [
        ({"id": 3, "name": "Resolved", "is_closed": False}, {}, TicketStatus.SOLVED),
        ({"id": 4, "name": "Feedback", "is_closed": False}, {}, TicketStatus.PENDING),
        ({"id": 6, "name": "Rejected", "is_closed": True}, {}, TicketStatus.CLOSED),
        ({"id": 9, "name": "Waiting for vendor", "is_closed": False}, {"statuses": {"9": "hold"}}, TicketStatus.HOLD),
        ({"id": 4, "name": "Feedback", "is_closed": False}, {"statuses": {"4": "open"}}, TicketStatus.OPEN),
        ({"id": 12, "name": "Archived", "is_closed": True}, {}, TicketStatus.CLOSED),  # unmapped: is_closed
        ({"id": 13, "name": "Triage", "is_closed": False}, {}, TicketStatus.OPEN),
    ],
)
def test_statuses_map_per_installation(status, options, expected):
    issue = {**capture("post_issue")["issue"], "status": status}
    ticket = reading.to_ticket(issue, USERS, FIELDS, options)
    assert ticket.status is expected and [s.status for s in ticket.statuses] == [expected]


def test_a_field_not_enabled_for_the_issue_is_refused_before_anything_is_written():
    issue = capture("post_issue")["issue"]  # as its author saw it: the connector's fields are hidden
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        mock.get(
            f"{BASE}/issues/1.json",
            json={"issue": issue},
            match=[HEADERS, matchers.query_param_matcher({"include": "journals"})],
        )
        with pytest.raises(PlatformRejected, match=r"no custom field tier \(id 1\), first_response_due \(id 2\)"):
            adapter().fetch_ticket("1")


# -- writing -----------------------------------------------------------------------------------


def as_read(issue: dict) -> reading.RedmineTicket:
    return reading.to_ticket(issue, USERS, FIELDS, {})


def fresh_issue() -> dict:
    """Issue 1 as created (api/post_issue), as the connector reads it: every field, no journal."""
    issue = copy.deepcopy(capture("post_issue")["issue"])
    names = {"1": "tier", "2": "first_response_due", "3": "resolution_due", "4": "flags"}
    mine = [{"id": int(i), "name": n, "value": None} for i, n in names.items()]
    issue["custom_fields"] = mine + issue["custom_fields"]
    issue["journals"] = []
    return issue


def warranty_plan(ticket, start=None):
    target = lambda hours: Target(hours * H, CALENDAR)  # noqa: E731
    return plan_write_back(ticket, "warranty", (), None, target(8), target(40), ticket.created_at + 5 * H)


# created Tuesday 2026-12-01 09:52:12Z = 12:52:12 MSK: 8 h -> 5:07:48 that day + 2:52:12 on
# Wednesday = 2026-12-02 12:52:12; 40 h -> + Wed, Thu, Fri, Mon (32 h) + 2:52:12 = 2026-12-08 12:52:12.
PUT = {
    "issue": {
        "due_date": "2026-12-08",
        "notes": None,
        "private_notes": True,
        "custom_fields": [
            {"id": 1, "value": "warranty"},
            {"id": 2, "value": "2026-12-02T12:52:12+03:00"},
            {"id": 3, "value": "2026-12-08T12:52:12+03:00"},
        ],
    }
}


def after_write(issue: dict, note: str, **changes) -> dict:
    done = copy.deepcopy(issue)
    values = {
        1: "warranty",
        2: "2026-12-02T12:52:12+03:00",
        3: "2026-12-08T12:52:12+03:00",
        **changes.pop("values", {}),
    }
    for field in done["custom_fields"]:
        field["value"] = values.get(field["id"], field["value"])
    done["due_date"] = "2026-12-08"
    done["journals"] = [
        {"id": 1, "user": {"id": 5}, "notes": None, "private_notes": False, "details": []},
        {"id": 2, "user": {"id": 5}, "notes": note, "private_notes": changes.pop("private", True), "details": []},
    ]
    return {**done, **changes}


def write(issue_after: Callable[[str], dict] | None, put_status: int = 204, put_answer=None):
    issue = fresh_issue()
    ticket = as_read(issue)
    plan = warranty_plan(ticket)
    body = copy.deepcopy(PUT)
    body["issue"]["notes"] = plan.note
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        mock.put(
            f"{BASE}/issues/1.json",
            status=put_status,
            json=put_answer,
            match=[HEADERS, matchers.json_params_matcher(body)],
        )
        if put_status == 204:
            mock.get(
                f"{BASE}/issues/1.json",
                json={"issue": issue_after(plan.note)},
                match=[HEADERS, matchers.query_param_matcher({"include": "journals"})],
            )
        return adapter().write_back(ticket, plan)


def test_the_write_back_is_one_put_read_back_as_written():
    assert write(lambda note: after_write(fresh_issue(), note)) is True


@pytest.mark.parametrize(
    "after,problem",
    [
        (
            lambda note: after_write(fresh_issue(), note, values={3: None}),
            r"resolution_due \(custom field 3\) reads back None, not '2026-12-08T12:52:12\+03:00'",
        ),
        (
            lambda note: after_write({**fresh_issue(), "custom_fields": fresh_issue()["custom_fields"][1:]}, note),
            r"tier \(custom field 1\) is not enabled for this issue's project and tracker",
        ),
        (lambda note: after_write(fresh_issue(), note, private=False), "the internal note was saved PUBLIC"),
        (lambda note: after_write(fresh_issue(), "something else"), "the internal note is not on the issue"),
        (lambda note: {**after_write(fresh_issue(), note), "due_date": None}, "due_date reads back None"),
    ],
)
def test_a_204_that_does_not_read_back_as_written_is_an_error(after, problem):
    with pytest.raises(PlatformRejected, match="does not read back as written: .*" + problem):
        write(after)


def test_a_422_is_an_error_with_redmines_messages():
    answer = capture("put_issue__list_value_invalid")  # {"errors": ["Request type is not included in the list"]}
    with pytest.raises(
        PlatformRejected,
        match=r"Redmine refused the write-back of issue 1 \(PUT /issues/1.json: "
        r"HTTP 422\): Request type is not included in the list",
    ):
        write(None, 422, answer)


def test_a_start_date_after_the_due_day_clears_due_date_instead_of_a_422():
    issue = {**fresh_issue(), "start_date": "2027-01-15", "due_date": "2026-12-20"}
    ticket = as_read(issue)
    sent = writing.update(ticket, warranty_plan(ticket), FIELDS, MSK, None)
    assert sent.issue["due_date"] is None and sent.warnings == [
        "the resolution is due on 2026-12-08, before the issue's start date 2027-01-15, which Redmine refuses: "
        "due_date is cleared (the due moment is in the resolution_due field)"
    ]
    same_day = writing.update(as_read({**issue, "start_date": "2026-12-08"}), warranty_plan(ticket), FIELDS, MSK, None)
    assert same_day.issue["due_date"] == "2026-12-08" and not same_day.warnings  # the same day is allowed


def engineer_plan(ticket):
    target = Target(4 * H, CALENDAR)
    return plan_write_back(ticket, "individual", (), "boris@vendor.example", target, target, ticket.created_at)


def test_the_dedicated_engineer_is_found_by_email_and_assigned():
    issue = fresh_issue()
    ticket = as_read(issue)
    plan = engineer_plan(ticket)
    found = {"users": [{**USERS[8], "mail": "Boris@Vendor.example"}], "total_count": 1, "offset": 0, "limit": 100}
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        mock.get(
            f"{BASE}/users.json",
            json=found,
            match=[
                HEADERS,
                matchers.query_param_matcher({"name": "boris@vendor.example", "status": "", "limit": "100"}),
            ],
        )
        put = mock.put(f"{BASE}/issues/1.json", status=204, match=[HEADERS])
        done = {**fresh_issue(), "assigned_to": {"id": 8, "name": "Boris Engineer"}}
        for field, name in zip(done["custom_fields"], ("tier", "first_response_due", "resolution_due"), strict=False):
            field["value"] = writing.field_value(name, plan, MSK)
        done["due_date"] = plan.desired.resolution_due.astimezone(MSK).date().isoformat()
        done["journals"] = [{"id": 1, "notes": plan.note, "private_notes": True}]
        mock.get(f"{BASE}/issues/1.json", json={"issue": done}, match=[HEADERS])
        assert adapter().write_back(ticket, plan) is True
        assert json.loads(put.calls[0].request.body)["issue"]["assigned_to_id"] == 8


def test_an_engineer_redmine_does_not_know_is_an_error_after_the_rest_is_written():
    ticket = as_read(fresh_issue())
    plan = engineer_plan(ticket)
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        mock.get(f"{BASE}/users.json", json=capture("get_users__unknown_email"), match=[HEADERS])
        put = mock.put(f"{BASE}/issues/1.json", status=204, match=[HEADERS])
        mock.get(
            f"{BASE}/issues/1.json",
            status=200,
            match=[HEADERS],
            json={"issue": {**fresh_issue(), "due_date": None, "custom_fields": [], "journals": []}},
        )
        with pytest.raises(PlatformRejected, match="boris@vendor.example has no Redmine user: not assigned"):
            adapter().write_back(ticket, plan)
        assert "assigned_to_id" not in json.loads(put.calls[0].request.body)["issue"]


def test_an_engineer_who_cannot_be_assigned_gets_the_rest_written_then_an_error():
    ticket = as_read(fresh_issue())
    plan = engineer_plan(ticket)
    found = {"users": [USERS[8]], "total_count": 1, "offset": 0, "limit": 100}
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        mock.get(f"{BASE}/users.json", json=found, match=[HEADERS])
        refused = mock.put(
            f"{BASE}/issues/1.json", status=422, json=capture("put_issue__assigned_to_non_member"), match=[HEADERS]
        )
        mock.put(f"{BASE}/issues/1.json", status=204, match=[HEADERS])
        mock.get(
            f"{BASE}/issues/1.json",
            match=[HEADERS],
            json={"issue": {**fresh_issue(), "due_date": None, "custom_fields": [], "journals": []}},
        )
        with pytest.raises(
            PlatformRejected,
            match=r"assigning the dedicated engineer boris@vendor.example \(user 8\):"
            r" .*Assignee is invalid",
        ):
            adapter().write_back(ticket, plan)
        assert refused.call_count == 1


# -- receiving and settings ------------------------------------------------------------------------


def test_a_delivery_parses_to_its_event():
    from connector.core.events import Delivery

    body = (API.parent / "issue_updated__status.json").read_bytes()
    headers = json.loads((API.parent / "issue_updated__status.headers.json").read_text())
    event = adapter().parse(Delivery(headers, body), json.loads(body))
    assert (event.ticket_id, event.kind, event.delivery_id, event.occurred_at) == (
        "1",
        "issue.updated",
        "redmine-journal-3",
        datetime(2026, 12, 1, 9, 52, 16, tzinfo=UTC),
    )


@pytest.mark.parametrize(
    "section,problem",
    [
        (
            {"credentials": {"api_key": "k"}, "fields": {"tier": 1}},
            "platforms.redmine.fields: 'first_response_due' is a required",
        ),
        ({"fields": FIELDS}, "platforms.redmine.credentials: 'api_key' is a required property"),
        ({"credentials": {"api_key": "k"}, "fields": {**FIELDS, "tier": "abc"}}, "platforms.redmine.fields.tier"),
        (
            {"credentials": {"api_key": "k"}, "fields": FIELDS, "options": {"statuses": {"4": "waiting"}}},
            "platforms.redmine.options.statuses.4",
        ),
        (
            {"credentials": {"api_key": "k"}, "fields": FIELDS, "options": {"kb_group": "kb-readers"}},
            "platforms.redmine.options.kb_group",
        ),
        ({"credentials": {"token": "k"}, "fields": FIELDS}, "platforms.redmine.credentials"),
    ],
)
def test_settings_mistakes_are_named_by_their_key(section, problem):
    with pytest.raises(ValidationFailed) as caught:
        config_from_mapping({"platforms": {"redmine": section}}, Path("."), "test", settings_schemas())
    assert any(p.startswith(problem) for p in caught.value.problems), caught.value.problems


def test_an_unknown_zone_is_a_start_up_error_naming_its_key():
    with pytest.raises(BadInput, match="platforms.redmine.options.zone: unknown time zone 'Mars/Olympus'"):
        adapter(zone="Mars/Olympus")


@pytest.mark.parametrize(
    "change,problem",
    [
        ({"options": {"zone": "Mars/Olympus"}}, "platforms.redmine.options.zone: unknown time zone 'Mars/Olympus'"),
        (
            {"fields": {**FIELDS, "flags": "1"}},
            "platforms.redmine.fields: tier, flags are all custom field 1; each needs its own",
        ),
        (
            {"webhook_secret": "a-plain-shared-secret-0123456789"},
            "platforms.redmine.webhook_secret: not a whsec_<base64>",
        ),
    ],
)
def test_what_the_schema_cannot_see_is_refused_at_start_up(change, problem):
    from connector.composition import check_platform

    settings = PlatformSettings(
        **{
            "name": "redmine",
            "base_url": BASE,
            "credentials": {"api_key": KEY},
            "fields": FIELDS,
            "webhook_secret": SECRET,
            **change,
        }
    )
    with pytest.raises(ValidationFailed) as caught:
        check_platform(RedmineAdapter, settings)
    assert [p for p in caught.value.problems if p.startswith(problem)], caught.value.problems
    assert RedmineAdapter.check_settings(adapter().settings) == []
