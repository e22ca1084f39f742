"""Redmine 5 end to end, for real (tests/redmine_fixture.py): issues are made through Redmine's REST
API by its users, Redmine's own plugin calls a real `connector serve`, and the tests read back
from Redmine what the connector wrote: `due_date`, the custom fields, the private note, the
assignee and the KB group. Bad deliveries get their 4xx from the same server.

Expected due moments. Creation is "now", so they are computed from the issue's `created_on` with
the connector's calendar (`BusinessCalendar.add`, 10:00-18:00 Mon-Fri Europe/Moscow with the
Russian production calendar), the warranty's 8 and 40 working hours and the contract's 4 and 16.
E.g. an issue created on Tuesday 2026-12-01 at 14:21:07 MSK: the first response is due 3:38:53
later that day plus 4:21:07 on Wednesday, 2026-12-02T14:21:07+03:00; the resolution after four
more full days (Wed, Thu, Fri, Mon: 32 h) and 4:21:07 on Tuesday 2026-12-08, 14:21:07+03:00 (plus
any time the clock was paused), so due_date is 2026-12-08. That case, with its exact requests, is
the hand-checked contract case
(tests/fixtures/redmine/contract.json, ticket 1; the arithmetic is in that folder's README).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import requests
from click.testing import CliRunner

from connector.cli import cli
from connector.config.calendars import build_calendar
from connector.config.settings import PlatformSettings
from connector.core.errors import PlatformRejected
from connector.core.ticket import Target, plan_write_back
from connector.platforms import standard_webhooks
from connector.platforms.base import Alert
from connector.platforms.redmine import RedmineAdapter

CALENDAR = build_calendar("default")
MSK = ZoneInfo("Europe/Moscow")
H = timedelta(hours=1)


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def fields(issue: dict) -> dict[str, str]:
    return {c["name"]: c["value"] for c in issue.get("custom_fields") or []}


def msk(at: datetime) -> str:
    return at.astimezone(MSK).isoformat()


def adapter_for(live, **changes) -> RedmineAdapter:
    """The adapter the connector runs, in this process (for the checks that need no webhook)."""
    base = {
        "fields": {k: str(v) for k, v in live.rm.custom_fields.items()},
        "options": {"project": "support", "kb_group": live.rm.kb_group_id},
    }
    settings = PlatformSettings(
        "redmine", live.rm.base_url, live.secret, credentials={"api_key": live.rm.api_key}, **{**base, **changes}
    )
    return RedmineAdapter(settings, RedmineAdapter.client_for(settings))


def product(live, request_type="error", topic="installation"):
    return live.custom_fields(product="KOMPAS-3D", request_type=request_type, topic=topic)


def test_a_warranty_issue_gets_its_due_dates_fields_private_note_and_kb_access(redmine_live):
    live = redmine_live
    made = live.create_issue("ivan", "KOMPAS-3D crashes on start", custom_fields=product(live))
    (event,) = live.wait_done(made["id"], 1)
    assert (event.status, event.last_error) == ("done", None)
    assert (event.kind, event.delivery_id) == ("issue.created", f"redmine-issue-{made['id']}-created")
    issue = live.issue(made["id"])
    created = moment(issue["created_on"])
    first, resolution = CALENDAR.add(created, 8 * H), CALENDAR.add(created, 40 * H)  # warranty: 8 and 40
    assert fields(issue)["tier"] == "warranty" and fields(issue)["flags"] in ("", None)
    assert fields(issue)["first_response_due"] == msk(first)
    assert fields(issue)["resolution_due"] == msk(resolution)
    assert issue["due_date"] == resolution.astimezone(MSK).date().isoformat()
    assert "assigned_to" not in issue
    (note,) = [j for j in issue["journals"] if j["notes"]]
    assert note["private_notes"] is True and note["user"]["id"] == live.rm.info["connector_user"]["id"]
    assert note["notes"].startswith("Support tier: warranty. first response due ")
    assert "ivan" in live.group_members()  # the warranty's closed KB
    assert event.result["access"] == [
        "grant ivan.petrov@customer.example: done",
        "register ivan.petrov@customer.example: already a portal user",
    ]
    # the customer sees neither the internal note nor the connector's fields
    as_ivan = live.rm.api("GET", f"/issues/{made['id']}.json?include=journals", key=live.as_user("ivan"))["issue"]
    assert not [j for j in as_ivan["journals"] if j["notes"]] and "tier" not in fields(as_ivan)
    # one write: one PUT, which Redmine splits into the changes and the private note
    mine = [j for j in issue["journals"] if j["user"]["id"] == live.rm.info["connector_user"]["id"]]
    assert [bool(j["notes"]) for j in mine] == [False, True]
    # the connector's own write sent no webhook (the plugin skips its user): still one event
    assert len(live.events(made["id"])) == 1


def test_a_contract_issue_is_assigned_to_the_dedicated_engineer(redmine_live):
    live = redmine_live
    made = live.create_issue("olga", "BOM export settings", custom_fields=product(live, "information", "functionality"))
    (event,) = live.wait_done(made["id"], 1)
    assert event.status == "done", event.last_error
    issue = live.issue(made["id"])
    created = moment(issue["created_on"])
    first, resolution = CALENDAR.add(created, 4 * H), CALENDAR.add(created, 16 * H)  # SLA-BIG: 4 and 16
    assert (fields(issue)["tier"], fields(issue)["first_response_due"], fields(issue)["resolution_due"]) == (
        "individual",
        msk(first),
        msk(resolution),
    )
    assert issue["due_date"] == resolution.astimezone(MSK).date().isoformat()
    assert issue["assigned_to"]["id"] == live.users["boris"]["id"]
    assert "olga" in live.group_members()  # the contract includes the closed KB
    assert len(live.events(made["id"])) == 1


def test_feedback_pauses_the_resolution_clock_and_an_agent_reply_meets_the_first_response(redmine_live):
    live = redmine_live
    made = live.create_issue("ivan", "License server unreachable", custom_fields=product(live))
    live.wait_done(made["id"], 1)
    written = live.issue(made["id"])
    anna = live.as_user("anna")
    live.rm.api("PUT", f"/issues/{made['id']}.json", {"issue": {"notes": "Which port do you use?"}}, key=anna)
    live.rm.api("PUT", f"/issues/{made['id']}.json", {"issue": {"status_id": 4}}, key=anna)  # Feedback
    events = live.wait_done(made["id"], 3)
    paused = live.issue(made["id"])
    assert [e.status for e in events] == ["done"] * 3
    assert fields(paused)["resolution_due"] == "" and paused["due_date"] is None  # unknown while paused
    assert fields(paused)["first_response_due"] == fields(written)["first_response_due"]  # met: kept
    live.rm.api("PUT", f"/issues/{made['id']}.json", {"issue": {"status_id": 2}}, key=anna)  # In Progress
    live.wait_done(made["id"], 4)
    issue = live.issue(made["id"])
    created = moment(issue["created_on"])
    changes = [
        moment(j["created_on"]) for j in issue["journals"] if any(d["name"] == "status_id" for d in j["details"])
    ]
    assert len(changes) == 2
    # 40 h minus what ran before Feedback, counted again from In Progress
    expected = CALENDAR.add(changes[1], 40 * H - CALENDAR.between(created, changes[0]))
    assert fields(issue)["resolution_due"] == msk(expected)
    assert issue["due_date"] == expected.astimezone(MSK).date().isoformat()
    assert len([j for j in issue["journals"] if j["notes"] and j["private_notes"]]) == 1  # one note, ever
    assert len(live.events(made["id"])) == 4  # three changes by anna, none by the connector


def test_a_start_date_after_the_due_day_leaves_due_date_empty_and_writes_the_rest(redmine_live):
    live = redmine_live
    later = (datetime.now(MSK) + timedelta(days=60)).date().isoformat()
    made = live.create_issue("ivan", "Planned upgrade", start_date=later, custom_fields=product(live))
    (event,) = live.wait_done(made["id"], 1)
    assert event.status == "done", event.last_error
    issue = live.issue(made["id"])
    assert issue["start_date"] == later and issue["due_date"] is None
    assert fields(issue)["resolution_due"] == msk(CALENDAR.add(moment(issue["created_on"]), 40 * H))


def test_a_refused_write_is_an_error_naming_the_field(redmine_live):
    live = redmine_live
    adapter = adapter_for(live)
    made = live.create_issue("petr", "Refused write", custom_fields=product(live))
    live.wait_done(made["id"], 1)
    ticket = adapter.fetch_ticket(str(made["id"]))
    later = (datetime.now(MSK) + timedelta(days=90)).date().isoformat()
    live.rm.api(
        "PUT",
        f"/issues/{made['id']}.json",
        {"issue": {"start_date": later, "due_date": None}},
        key=live.as_user("anna"),
    )
    target = Target(3 * H, CALENDAR)
    plan = plan_write_back(ticket, "basic", (), None, target, target, datetime.now(UTC))
    with pytest.raises(PlatformRejected, match="HTTP 422\\): Due date must be greater than start date"):
        adapter.write_back(ticket, plan)  # the start date moved after the read: Redmine's 422, named
    with pytest.raises(PlatformRejected, match=r"no custom field flags \(id 999\)"):
        adapter_for(live, fields={**adapter.settings.fields, "flags": "999"}).fetch_ticket(str(made["id"]))


def post(live, headers, body):
    return requests.post(f"{live.connector_url}/webhooks/redmine", data=body, headers=headers, timeout=10)


def test_bad_deliveries_get_their_4xx_from_the_real_server(redmine_live):
    live = redmine_live
    body = json.dumps(
        {
            "type": "issue.created",
            "timestamp": "2026-12-01T09:52:12Z",
            "data": {"issue": 999999, "project": "support", "journal": None, "user": "ivan"},
        }
    ).encode()
    now = datetime.now(UTC)
    json_type = {"Content-Type": "application/json"}

    def signed(payload, secret=live.secret, at=now, msg="live-bad-1"):
        return {**json_type, **standard_webhooks.sign(secret, payload, at, msg)}

    cases = [
        ("unsigned", json_type, body, 401),
        ("forged", signed(body, standard_webhooks.new_secret()), body, 401),
        ("stale", signed(body, at=now - timedelta(minutes=10)), body, 401),
        ("tampered", signed(body), body.replace(b"999999", b"999998"), 401),
        ("not JSON", signed(b"{not json", msg="live-bad-2"), b"{not json", 400),
        ("schema", signed(b'{"type":"issue.created"}', msg="live-bad-3"), b'{"type":"issue.created"}', 400),
        ("content type", {**signed(body, msg="live-bad-4"), "Content-Type": "text/plain"}, body, 400),
    ]
    for what, headers, payload, status in cases:
        answer = post(live, headers, payload)
        assert (what, answer.status_code) == (what, status), answer.text
        assert answer.json()["error"], what
    assert live.events(999999) == [] and live.events(999998) == []
    too_big = b'{"x": "' + b"a" * (1 << 20) + b'"}'
    assert post(live, signed(too_big, msg="live-bad-5"), too_big).status_code == 413


def test_kb_sync_removes_a_stranger_from_the_group_and_keeps_the_entitled(redmine_live, monkeypatch):
    live = redmine_live
    stranger = live.rm.create_user("mallory", mail="mallory@elsewhere.example", project=None)
    live.rm.api("POST", f"/groups/{live.rm.kb_group_id}/users.json", {"user_id": stranger["id"]}, expect=204)
    for name, value in live.env.items():
        if name.startswith("LIVE_REDMINE_"):
            monkeypatch.setenv(name, value)
    runner = CliRunner()
    done = runner.invoke(cli, ["kb", "sync", "--platform", "redmine", "--config", str(live.config_path), "--json"])
    assert done.exit_code == 0, done.output
    report = json.loads(done.stdout)
    assert report["revoked"] >= 1 and report["failed"] == [] and report["error"] is None
    group = live.rm.api("GET", f"/groups/{live.rm.kb_group_id}.json?include=users")["group"]
    ids = {u["id"] for u in group["users"]}
    assert stranger["id"] not in ids
    assert {live.users["ivan"]["id"], live.users["olga"]["id"]} <= ids
    again = runner.invoke(
        cli, ["kb", "sync", "--platform", "redmine", "--config", str(live.config_path), "--dry-run", "--json"]
    )
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["plan"] == []  # nothing left to change


def test_install_checks_the_live_redmine_and_applies_what_its_api_allows(redmine_live, monkeypatch, tmp_path):
    live = redmine_live
    for name, value in live.env.items():
        if name.startswith("LIVE_REDMINE_"):
            monkeypatch.setenv(name, value)
    runner = CliRunner()
    ok = runner.invoke(cli, ["install", "redmine", "--url", live.connector_url, "--config", str(live.config_path)])
    assert ok.exit_code == 0, ok.output
    assert f"  Connector URL:          {live.connector_url}/webhooks/redmine" in ok.stdout
    assert "  Connector user (login): connector" in ok.stdout and "  Projects:               support" in ok.stdout
    assert "PROBLEM" not in ok.stdout and live.secret not in ok.stdout
    group = live.rm.api("POST", "/groups.json", {"group": {"name": "kb-new"}}, expect=201)["group"]
    live.rm.api("PUT", "/projects/kb.json", {"project": {"is_public": True}})
    text = live.config_path.read_text().replace(f"kb_group = {live.rm.kb_group_id}", f"kb_group = {group['id']}")
    text = text.replace("tier = 1\n", "tier = 999\n")
    broken = tmp_path / "broken.toml"
    broken.write_text(text)
    refused = runner.invoke(cli, ["install", "redmine", "--url", live.connector_url, "--config", str(broken)])
    assert refused.exit_code == 2
    assert "fields.tier = 999: Redmine has no custom field 999" in refused.stderr
    assert "project kb is public" in refused.stderr and "is not a member of project kb" in refused.stderr
    fixed = tmp_path / "fixed.toml"
    fixed.write_text(text.replace("tier = 999\n", "tier = 1\n"))
    applied = runner.invoke(cli, ["install", "redmine", "--url", live.connector_url, "--config", str(fixed), "--apply"])
    assert applied.exit_code == 0, applied.output
    assert "applied  project kb made private" in applied.stdout
    assert f"applied  KB group {group['id']} added to project kb as 'KB reader'" in applied.stdout
    assert live.rm.api("GET", "/projects/kb.json")["project"]["is_public"] is False
    memberships = live.rm.api("GET", f"/groups/{group['id']}.json?include=memberships")["group"]["memberships"]
    assert [(m["project"]["name"], [r["name"] for r in m["roles"]]) for m in memberships] == [
        ("Knowledge base", ["KB reader"])
    ]


def test_an_sla_alert_is_a_private_note_with_its_tags_and_the_priority(redmine_live):
    live = redmine_live
    made = live.create_issue("petr", "Alert me", custom_fields=product(live))
    live.wait_done(made["id"], 1)
    adapter = adapter_for(live)
    assert (
        adapter.alert(Alert(str(made["id"]), ("sla_resolution_75",), "75% of the resolution time is used.", "urgent"))
        is True
    )
    issue = live.issue(made["id"])
    assert issue["priority"]["name"] == "Urgent"
    last = [j for j in issue["journals"] if j["notes"]][-1]
    assert last["private_notes"] is True
    assert last["notes"] == "75% of the resolution time is used.\n\nTags: sla_resolution_75"


def test_portal_registration_creates_an_unprivileged_user_once(redmine_live):
    adapter = adapter_for(redmine_live, options={"project": "support", "portal_project": "support"})
    done = adapter.register_portal_user("Nina.Orlova@customer.example", "Nina Orlova", "C-IV", "Ivanov Design", None)
    assert done and done.startswith("created Redmine user nina.orlova@customer.example (id ")
    assert "a member of support as Reporter" in done
    (user,) = redmine_live.rm.api("GET", "/users.json?name=nina.orlova@customer.example")["users"]
    assert (user["admin"], user["firstname"], user["lastname"]) == (False, "Nina", "Orlova")
    full = redmine_live.rm.api("GET", f"/users/{user['id']}.json?include=memberships")["user"]
    assert [(m["project"]["name"], [r["name"] for r in m["roles"]]) for m in full["memberships"]] == [
        ("Support", ["Reporter"])
    ]
    assert adapter.register_portal_user("nina.orlova@customer.example", None, "C-IV", "Ivanov Design", None) is None
