"""Redmine's closed-KB group, portal users, SLA alerts and install checks, on the real captures of
tests/fixtures/redmine/api/ (`responses`, strict on headers, queries and bodies). The same levers
run against a real Redmine in tests/test_redmine_live.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import responses
from responses import matchers

from connector.config.settings import PlatformSettings
from connector.core.errors import BadInput, PlatformRejected
from connector.core.kb_access import GRANT, REVOKE, AccessChange
from connector.platforms.base import Alert
from connector.platforms.redmine import RedmineAdapter

API = Path(__file__).parent / "fixtures" / "redmine" / "api"
BASE, KEY = "http://redmine.test", "unit-test-redmine-key-0123456789abcdef"
FIELDS = {"tier": "1", "first_response_due": "2", "resolution_due": "3", "flags": "4"}
AUTH = matchers.header_matcher({"X-Redmine-API-Key": KEY, "Accept": "application/json"})
SECRET = "whsec_cmVkbWluZS1maXh0dXJlLXNpZ25pbmctc2VjcmV0ISE="


def capture(name: str) -> dict:
    return json.loads((API / f"{name}.json").read_text(encoding="utf-8"))


def adapter(**options) -> RedmineAdapter:
    settings = PlatformSettings(
        "redmine", BASE, SECRET, credentials={"api_key": KEY}, fields=FIELDS, options={"kb_group": 6, **options}
    )
    return RedmineAdapter(settings, RedmineAdapter.client_for(settings))


def query(**params) -> list:
    return [AUTH, matchers.query_param_matcher({k: str(v) for k, v in params.items()})]


def in_group(*users: dict) -> dict:
    return {"users": list(users), "total_count": len(users), "offset": 0, "limit": 100}


OLGA = capture("get_users__in_group")["users"][0]  # id 10, olga@customer.example
IVAN = capture("get_users__by_email")["users"][0]  # id 9, Ivan.Petrov@Customer.example


def test_kb_is_offered_only_with_a_group():
    assert adapter().supports == {"kb", "portal", "alert"}
    settings = PlatformSettings("redmine", BASE, SECRET, credentials={"api_key": KEY}, fields=FIELDS)
    assert RedmineAdapter(settings).supports == {"portal", "alert"}


def test_kb_holders_are_the_groups_members_on_every_page():
    page1 = {"users": [OLGA], "total_count": 2, "offset": 0, "limit": 100}
    page2 = {"users": [IVAN], "total_count": 2, "offset": 1, "limit": 100}
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        mock.get(f"{BASE}/users.json", json=page1, match=query(group_id=6, status="", limit=100, offset=0))
        mock.get(f"{BASE}/users.json", json=page2, match=query(group_id=6, status="", limit=100, offset=1))
        assert adapter().kb_holders() == {"olga@customer.example", "ivan.petrov@customer.example"}


def test_grants_and_revokes_skip_what_is_already_right_and_batch_the_rest():
    changes = [
        AccessChange("olga@customer.example", GRANT, "warranty"),  # a member already
        AccessChange("Ivan.Petrov@customer.example", GRANT, "warranty"),  # a user, not a member
        AccessChange("new@customer.example", GRANT, "warranty", "C-IV"),  # no user yet
        AccessChange("olga@customer.example", REVOKE, "ended"),
        AccessChange("gone@customer.example", REVOKE, "ended"),
    ]  # not a member
    created = {"user": {**capture("post_user")["user"], "id": 11, "login": "new@customer.example"}}
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        mock.get(f"{BASE}/users.json", json=in_group(OLGA), match=query(group_id=6, status="", limit=100, offset=0))
        mock.get(
            f"{BASE}/users.json",
            json=capture("get_users__by_email"),
            match=query(name="ivan.petrov@customer.example", status="", limit=100),
        )
        mock.get(
            f"{BASE}/users.json",
            json=capture("get_users__unknown_email"),
            match=query(name="new@customer.example", status="", limit=100),
        )
        mock.post(
            f"{BASE}/users.json",
            status=201,
            json=created,
            match=[
                AUTH,
                matchers.json_params_matcher(
                    {
                        "user": {
                            "login": "new@customer.example",
                            "firstname": "new",
                            "lastname": "C-IV",
                            "mail": "new@customer.example",
                            "generate_password": True,
                        },
                        "send_information": False,
                    }
                ),
            ],
        )
        mock.delete(f"{BASE}/groups/6/users/10.json", status=204, match=[AUTH])
        mock.post(
            f"{BASE}/groups/6/users.json", status=204, match=[AUTH, matchers.json_params_matcher({"user_ids": [9, 11]})]
        )
        outcomes = list(adapter().apply_access(changes))
    assert [(o.change.email, o.change.action, o.ok, o.detail) for o in outcomes] == [
        ("olga@customer.example", GRANT, True, "already"),
        ("Ivan.Petrov@customer.example", GRANT, True, "added to the KB group"),
        ("new@customer.example", GRANT, True, "added to the KB group"),
        ("olga@customer.example", REVOKE, True, "removed from the KB group"),
        ("gone@customer.example", REVOKE, True, "already"),
    ]


def test_a_refused_grant_is_a_failed_outcome_with_redmines_message():
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        mock.get(f"{BASE}/users.json", json=in_group(), match=query(group_id=6, status="", limit=100, offset=0))
        mock.get(
            f"{BASE}/users.json",
            json=capture("get_users__in_group"),
            match=query(name="olga@customer.example", status="", limit=100),
        )
        mock.post(
            f"{BASE}/groups/6/users.json", status=422, json=capture("post_group_users__already_member"), match=[AUTH]
        )
        (outcome,) = adapter().apply_access([AccessChange("olga@customer.example", GRANT, "warranty")])
    assert not outcome.ok and outcome.detail.endswith("HTTP 422): User is invalid")


def test_portal_registration_creates_a_user_with_a_membership_once():
    created = capture("post_user")
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        mock.get(
            f"{BASE}/users.json",
            json=capture("get_users__unknown_email"),
            match=query(name="olga@customer.example", status="", limit=100),
        )
        mock.post(
            f"{BASE}/users.json",
            status=201,
            json=created,
            match=[
                AUTH,
                matchers.json_params_matcher(
                    {
                        "user": {
                            "login": "olga@customer.example",
                            "firstname": "Olga",
                            "lastname": "Sidorova",
                            "mail": "olga@customer.example",
                            "generate_password": True,
                        },
                        "send_information": False,
                    }
                ),
            ],
        )
        mock.get(f"{BASE}/roles.json", json=capture("get_roles"), match=[AUTH])
        mock.post(
            f"{BASE}/projects/support/memberships.json",
            status=201,
            json={"membership": {"id": 9}},
            match=[AUTH, matchers.json_params_matcher({"membership": {"user_id": 10, "role_ids": [5]}})],
        )
        done = adapter(portal_project="support").register_portal_user(
            "Olga@customer.example", "Olga Sidorova", "C-IV", "Ivanov Design", None
        )
    assert done == (
        "created Redmine user olga@customer.example (id 10), a member of support as Reporter; "
        "Redmine has no organisations, so it is not placed in Ivanov Design"
    )
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        mock.get(
            f"{BASE}/users.json",
            json=capture("get_users__in_group"),
            match=query(name="olga@customer.example", status="", limit=100),
        )
        assert adapter().register_portal_user("olga@customer.example", None, "C-IV", "Ivanov Design", None) is None


def test_a_duplicate_email_is_a_clear_error():
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        mock.get(f"{BASE}/users.json", json=capture("get_users__unknown_email"), match=[AUTH])
        mock.post(f"{BASE}/users.json", status=422, json=capture("post_user__duplicate_mail"), match=[AUTH])
        with pytest.raises(PlatformRejected, match="HTTP 422\\): Email has already been taken"):
            adapter().register_portal_user("olga@customer.example", "Olga", "C-IV", "Ivanov Design", None)


def test_an_alert_is_one_put_of_a_private_note_and_the_priority_read_back():
    after = {
        "issue": {
            "id": 1,
            "priority": {"id": 4, "name": "Urgent"},
            "journals": [{"id": 10, "notes": "75% used.\n\nTags: sla_resolution_75", "private_notes": True}],
        }
    }
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        mock.get(f"{BASE}/enumerations/issue_priorities.json", json=capture("get_priorities"), match=[AUTH])
        mock.put(
            f"{BASE}/issues/1.json",
            status=204,
            match=[
                AUTH,
                matchers.json_params_matcher(
                    {
                        "issue": {
                            "notes": "75% used.\n\nTags: sla_resolution_75",
                            "private_notes": True,
                            "priority_id": 4,
                        }
                    }
                ),
            ],
        )
        mock.get(f"{BASE}/issues/1.json", json=after, match=query(include="journals"))
        assert adapter().alert(Alert("1", ("sla_resolution_75",), "75% used.", "urgent")) is True


def test_an_unknown_priority_names_the_ones_there_are():
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        mock.get(f"{BASE}/enumerations/issue_priorities.json", json=capture("get_priorities"), match=[AUTH])
        with pytest.raises(
            BadInput, match="no issue priority 'critical' \\(priorities: Low, Normal, High, Urgent, Immediate\\)"
        ):
            adapter().alert(Alert("1", (), None, "critical"))


def test_install_names_every_problem_and_prints_the_plugin_settings(tmp_path):
    user = {"user": {**capture("get_user_current")["user"], "admin": False, "login": "robot"}}
    fields = capture("get_custom_fields")
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        mock.get(f"{BASE}/users/current.json", json=user, match=[AUTH])
        mock.get(f"{BASE}/custom_fields.json", json=fields, match=[AUTH])
        mock.get(f"{BASE}/issue_statuses.json", json=capture("get_issue_statuses"), match=[AUTH])
        mock.get(f"{BASE}/roles.json", json=capture("get_roles"), match=[AUTH])
        mock.get(f"{BASE}/groups/6.json", status=404, match=query(include="memberships"))
        with pytest.raises(BadInput) as caught:
            adapter(staff_roles=["Manager", "Support lead"]).install(
                "https://connector.example/webhooks/redmine", apply=False
            )
    text = str(caught.value)
    assert text.startswith("4 problem(s) to fix first:\nRedmine at http://redmine.test:")
    for line in (
        "PROBLEM  the API key's user 'robot' is not an administrator",
        "PROBLEM  options.connector_login is 'connector' but the API key's user is 'robot'",
        "PROBLEM  options.staff_roles: Redmine has no role 'support lead'",
        "PROBLEM  options.kb_group: Redmine has no group 6",
        "ok       fields.tier = 1: 'tier' (string; trackers: Bug, Feature, Support)",
        "ok       status 4 'Feedback' -> pending",
        "ok       status 3 'Resolved' -> solved",
        "  Connector URL:          https://connector.example/webhooks/redmine",
        "  Connector user (login): robot",
    ):
        assert line in text
    assert SECRET not in text
