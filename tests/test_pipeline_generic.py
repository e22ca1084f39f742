"""End to end on the generic platform, for both presets: a documented, really signed Zammad or GLPI
delivery into the HTTP view, the worker reading the ticket through the preset's reads, the
entitlement from the registry, and exactly the preset's write requests (strict `responses`: exact
bodies and headers, every registered call fired, any other call an error); then a second
delivery after the write, which reads and writes nothing. Dry run, retries and GLPI's expiring
sessions on the way."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import responses
from responses import matchers

from connector.core.errors import PlatformRejected
from connector.pipeline.process import Processor
from connector.pipeline.worker import Worker
from connector.storage.registry_import import import_registry
from connector.web import create_app

FIXTURES = Path(__file__).parent / "fixtures" / "generic"
ZAMMAD_BASE, GLPI_BASE = "https://zammad.test", "https://glpi.test"
ZAMMAD_AUTH = {"Authorization": "Token token=zammad-api-token-for-tests", "Accept": "application/json"}
GLPI_SESSION = "83af7e620c83a50a18d3eac2f6ed05a3ca0bea62"
GLPI_LOGIN = {"Authorization": "user_token glpi-user-token-for-tests", "Content-Type": "application/json"}
GLPI_AUTH = {"Session-Token": GLPI_SESSION, "Content-Type": "application/json", "Accept": "application/json"}
GLPI_SECRET = "Gl9x2Qm4Vt7Rk1Zp8Hs3Wd6Yf0Nb5Lc2Jq7Ue4Ta"
SETTINGS = {
    "zammad": {
        "base_url": ZAMMAD_BASE,
        "webhook_secret": "zammad-fixture-token-3e7a91c2",
        "credentials": {"api_token": "zammad-api-token-for-tests"},
        "options": {"preset": "zammad"},
    },
    "glpi": {
        "base_url": GLPI_BASE,
        "webhook_secret": GLPI_SECRET,
        "credentials": {"user_token": "glpi-user-token-for-tests"},
        "options": {"preset": "glpi", "time_zone": "Europe/Moscow", "values": {"product": {"3": "kompas_3d"}}},
    },  # GLPI category 3 is KOMPAS-3D
}
NOW = {"zammad": datetime(2024, 5, 13, 12, 0, tzinfo=UTC), "glpi": datetime(2024, 5, 13, 7, 5, tzinfo=UTC)}
ZAMMAD_PUT = {
    "sla_tier": "warranty",
    # created 10:00:00.412 MSK; 8 working hours end .412 s after 18:00, so the next morning (whole seconds)
    "sla_first_response_due": "2024-05-14T10:00:00+03:00",
    "sla_resolution_due": "2024-05-20T10:00:00+03:00",
    "article": {
        "body": "Support tier: warranty. first response due 2024-05-14T10:00:00+03:00, resolution due "
        "2024-05-20T10:00:00+03:00",
        "type": "note",
        "internal": True,
        "content_type": "text/plain",
    },
}
GLPI_PUT = {
    "input": {
        "time_to_own": "2024-05-13 18:00:00",
        "time_to_resolve": "2024-05-17 18:00:00",
        "supporttierfield": "warranty",
        "_do_not_compute_takeintoaccount": True,
    }
}
GLPI_NOTE = {
    "input": {
        "itemtype": "Ticket",
        "items_id": "42",
        "is_private": 1,
        "_do_not_compute_takeintoaccount": True,
        "content": "Support tier: warranty. first response due 2024-05-13T18:00:00+03:00, resolution due "
        "2024-05-17T18:00:00+03:00",
    }
}


def api(name):
    return json.loads((FIXTURES / "api" / name).read_text(encoding="utf-8"))


def recorded(name):
    headers = json.loads((FIXTURES / f"{name}.headers.json").read_text(encoding="utf-8"))
    return headers, (FIXTURES / f"{name}.json").read_bytes()


def make_runtime(database_url, preset):
    app = create_app(
        test_config={
            "database_url": database_url,
            "worker": {"backoff_base_seconds": 1, "backoff_cap_seconds": 60},
            "platforms": {"generic": SETTINGS[preset]},
        }
    )
    runtime = app.extensions["connector"]
    import_registry(FIXTURES / "registry.json", runtime.engine)
    runtime.app, runtime.preset = app, preset
    return runtime


@pytest.fixture(params=["zammad", "glpi"])
def tracker(request, database_url):
    runtime = make_runtime(database_url, request.param)
    yield runtime
    runtime.close()


@pytest.fixture
def glpi_tracker(database_url):
    runtime = make_runtime(database_url, "glpi")
    yield runtime
    runtime.close()


class Clock:
    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now


def worker(runtime, clock=None):
    processor = Processor(runtime.engine, runtime.adapters, runtime.rules, clock=Clock(NOW[runtime.preset]))
    return Worker(
        runtime.store,
        processor,
        runtime.config.worker,
        runtime.metrics,
        clock=clock or Clock(datetime.now(UTC) + timedelta(seconds=1)),
    )


def deliver(runtime, update=False):
    """The preset's documented delivery, as recorded; `update`: a later one, signed afresh."""
    if runtime.preset == "zammad":
        headers, body = recorded("zammad_article_created" if update else "zammad_ticket_created")
    else:
        headers, body = recorded("glpi_ticket_created")
        headers["Content-Type"] = "application/json"  # the custom header webhooks/generic/README.md adds
        if update:
            body = body.replace(b'"event": "new"', b'"event": "update"')
            stamp = "1715583902"
            headers.update(
                {
                    "x-glpi-timestamp": stamp,
                    "x-glpi-signature": hmac.new(
                        GLPI_SECRET.encode(), body + stamp.encode(), hashlib.sha256
                    ).hexdigest(),
                }
            )
    answer = runtime.app.test_client().post("/webhooks/generic", data=body, headers=headers)
    assert answer.status_code == 202, answer.json
    return answer.json["event_id"]


def get(mock, base, path, answer, headers, query=None, status=200):
    mock.get(
        base + path,
        json=answer,
        status=status,
        match=[matchers.query_param_matcher(query or {}), matchers.header_matcher(headers)],
    )


def expect_reads(mock, preset, written=False, login=True):
    if preset == "zammad":
        get(
            mock,
            ZAMMAD_BASE,
            "/api/v1/tickets/81",
            api(f"zammad_ticket_81{'_written' if written else ''}.json"),
            ZAMMAD_AUTH,
            {"expand": "true"},
        )
        get(mock, ZAMMAD_BASE, "/api/v1/users/8", api("zammad_user_8.json"), ZAMMAD_AUTH)
        get(
            mock,
            ZAMMAD_BASE,
            "/api/v1/ticket_history/81",
            api(f"zammad_ticket_history_81{'_written' if written else ''}.json"),
            ZAMMAD_AUTH,
        )
        return
    if login:
        get(mock, GLPI_BASE, "/apirest.php/initSession", api("glpi_initsession.json"), GLPI_LOGIN)
    get(
        mock, GLPI_BASE, "/apirest.php/Ticket/42", api(f"glpi_ticket_42{'_written' if written else ''}.json"), GLPI_AUTH
    )
    get(mock, GLPI_BASE, "/apirest.php/Ticket/42/Ticket_User", api("glpi_ticket_42_ticket_user.json"), GLPI_AUTH)
    get(mock, GLPI_BASE, "/apirest.php/User/7/UserEmail", api("glpi_user_7_useremail.json"), GLPI_AUTH)
    get(
        mock,
        GLPI_BASE,
        "/apirest.php/Ticket/42/PluginFieldsTicketsupportentitlement",
        api(f"glpi_ticket_42_fields{'_written' if written else ''}.json"),
        GLPI_AUTH,
    )


def expect_writes(mock, preset):
    """The preset's write-back, exactly; returns the registered calls."""
    if preset == "zammad":
        return [
            mock.put(
                f"{ZAMMAD_BASE}/api/v1/tickets/81",
                json=api("zammad_ticket_81_updated.json"),
                match=[matchers.json_params_matcher(ZAMMAD_PUT), matchers.header_matcher(ZAMMAD_AUTH)],
            )
        ]
    return [
        mock.put(
            f"{GLPI_BASE}/apirest.php/Ticket/42",
            json=api("glpi_ticket_42_updated.json"),
            match=[matchers.json_params_matcher(GLPI_PUT), matchers.header_matcher(GLPI_AUTH)],
        ),
        mock.post(
            f"{GLPI_BASE}/apirest.php/ITILFollowup",
            json=api("glpi_followup_created.json"),
            status=201,
            match=[matchers.json_params_matcher(GLPI_NOTE), matchers.header_matcher(GLPI_AUTH)],
        ),
    ]


def test_a_signed_delivery_ends_in_exactly_the_presets_writes_and_a_second_writes_nothing(tracker):
    first = deliver(tracker)
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        expect_reads(mock, tracker.preset)
        calls = expect_writes(mock, tracker.preset)
        assert worker(tracker).run_once()
        assert [c.call_count for c in calls] == [1] * len(calls)
    event = tracker.store.get(first)
    assert event.status == "done", event.last_error
    assert event.result["tier"] == "warranty" and event.result["written"] is True
    assert event.result["changed"] == ["first_response_due", "resolution_due", "tier"]
    second = deliver(tracker, update=True)
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        expect_reads(mock, tracker.preset, written=True, login=False)  # GLPI: the session is kept
        assert worker(tracker).run_once()
        assert all(call.request.method == "GET" for call in mock.calls)
    again = tracker.store.get(second)
    assert again.status == "done", again.last_error
    assert again.result["changed"] == [] and again.result["note"] is None and again.result["written"] is False


def test_dry_run_records_the_plan_and_writes_nothing(tracker):
    adapter = tracker.adapters["generic"]
    adapter.settings = adapter.settings.__class__(**{**adapter.settings.__dict__, "dry_run": True})
    event_id = deliver(tracker)
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        expect_reads(mock, tracker.preset)
        assert worker(tracker).run_once()
        assert all(call.request.method == "GET" for call in mock.calls)
    result = tracker.store.get(event_id).result
    assert result["dry_run"] is True and result["written"] is False and result["note"].startswith("Support tier")


@pytest.mark.parametrize("failure", [{"status": 429, "headers": {"Retry-After": "7"}}, {"status": 503}])
def test_a_tracker_failure_is_retried_then_recovers(tracker, failure):
    event_id = deliver(tracker)
    path = "/api/v1/tickets/81" if tracker.preset == "zammad" else "/apirest.php/Ticket/42"
    base = ZAMMAD_BASE if tracker.preset == "zammad" else GLPI_BASE
    clock = Clock(datetime.now(UTC) + timedelta(seconds=1))
    w = worker(tracker, clock)
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        if tracker.preset == "glpi":
            get(mock, GLPI_BASE, "/apirest.php/initSession", api("glpi_initsession.json"), GLPI_LOGIN)
        mock.get(base + path, json={"error": "busy"}, **failure)
        assert w.run_once()
    event = tracker.store.get(event_id)
    assert event.status == "pending" and event.attempts == 1 and event.last_error
    if failure["status"] == 429:
        assert event.next_attempt_at == clock.now + timedelta(seconds=7)
    clock.now = event.next_attempt_at
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        expect_reads(mock, tracker.preset, login=False)
        expect_writes(mock, tracker.preset)
        assert w.run_once()
    assert tracker.store.get(event_id).status == "done"


def test_a_glpi_session_that_expired_is_opened_again_once(glpi_tracker):
    adapter = glpi_tracker.adapters["generic"]
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        get(mock, GLPI_BASE, "/apirest.php/initSession", {"session_token": "old-session"}, GLPI_LOGIN)
        mock.get(
            f"{GLPI_BASE}/apirest.php/Ticket/42",
            status=401,
            json=["ERROR_SESSION_TOKEN_INVALID", "session_token seems invalid"],
            match=[matchers.header_matcher({"Session-Token": "old-session"})],
        )
        expect_reads(mock, "glpi")  # logs in again and reads on
        ticket = adapter.fetch_ticket("42")
    assert ticket.requester_email == "pavel.ivanov@kb-vektor.example"
    assert ticket.created_at == datetime(2024, 5, 13, 7, 0, tzinfo=UTC)
    assert (ticket.organisation_id, ticket.product, ticket.channel, ticket.status.value) == (
        "0",
        "kompas_3d",
        "portal",
        "new",
    )


def test_a_wrong_glpi_user_token_fails_the_event_for_good(glpi_tracker):
    event_id = deliver(glpi_tracker)
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        mock.get(
            f"{GLPI_BASE}/apirest.php/initSession",
            status=401,
            json=["ERROR_GLPI_LOGIN_USER_TOKEN", "parameter user_token seems invalid"],
        )
        assert worker(glpi_tracker).run_once()
    event = glpi_tracker.store.get(event_id)
    assert event.status == "failed" and "GET /apirest.php/initSession: HTTP 401" in event.last_error


def test_an_answer_of_another_shape_fails_the_event_naming_the_option(glpi_tracker):
    """A tracker that answers what the mapping does not expect is a permanent failure that says
    which option to look at (not a crash, not a silent wrong ticket)."""
    adapter = glpi_tracker.adapters["generic"]
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        get(mock, GLPI_BASE, "/apirest.php/initSession", api("glpi_initsession.json"), GLPI_LOGIN)
        get(mock, GLPI_BASE, "/apirest.php/Ticket/42", [{"id": 42}], GLPI_AUTH)
        get(mock, GLPI_BASE, "/apirest.php/Ticket/42/Ticket_User", [], GLPI_AUTH)
        get(mock, GLPI_BASE, "/apirest.php/Ticket/42/PluginFieldsTicketsupportentitlement", [], GLPI_AUTH)
        with pytest.raises(
            PlatformRejected,
            match=r"^platforms.generic.options.facts.created_at: the tracker's "
            r"answer has no creation time at ticket/date$",
        ):
            adapter.fetch_ticket("42")


def test_garbage_typed_into_the_connectors_own_field_is_overwritten(glpi_tracker):
    adapter = glpi_tracker.adapters["generic"]
    ticket = {**api("glpi_ticket_42_written.json"), "time_to_own": "tomorrow-ish"}
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        get(mock, GLPI_BASE, "/apirest.php/initSession", api("glpi_initsession.json"), GLPI_LOGIN)
        get(mock, GLPI_BASE, "/apirest.php/Ticket/42", ticket, GLPI_AUTH)
        get(mock, GLPI_BASE, "/apirest.php/Ticket/42/Ticket_User", api("glpi_ticket_42_ticket_user.json"), GLPI_AUTH)
        get(mock, GLPI_BASE, "/apirest.php/User/7/UserEmail", api("glpi_user_7_useremail.json"), GLPI_AUTH)
        get(
            mock,
            GLPI_BASE,
            "/apirest.php/Ticket/42/PluginFieldsTicketsupportentitlement",
            api("glpi_ticket_42_fields_written.json"),
            GLPI_AUTH,
        )
        read = adapter.fetch_ticket("42")
    assert read.carried.first_response_due is None and read.carried.tier == "warranty"
