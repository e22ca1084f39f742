"""End to end with Zendesk: a signed webhook in, the ticket read through the API, the
entitlement resolved from the registry, the SLA clocks run, one PUT out (asserted exactly with
`responses`). Platform failures (429, 500, timeout) are retried and then recover."""

from datetime import UTC, datetime, timedelta

import pytest
import requests
import responses
from responses import matchers

from connector.pipeline.process import Processor
from connector.pipeline.worker import Worker
from connector.storage.registry_import import import_registry
from connector.web import create_app
from tests.support.http import all_fired_then_reset
from tests.support.zendesk import AUTH, BASE, FIELDS, REGISTRY_FILE, SECRET, answer, expect_ticket_123, fixture, signed

NOW = datetime(2024, 5, 15, 12, 0, tzinfo=UTC)
# warranty (8 and 40 working hours) from 10:00 MSK Monday 13.05.2024: first public reply at 13:15:03
# (met; due 18:00); pending 13:15:03 -> 09:00 on the 14th, so 3:15:03 used, 36:44:57 from 14.05
# 10:00: four 8-hour days (9-10.05 are earlier; none off this week) then 4:44:57 on Monday 20.05.
EXPECTED_PUT = {
    "ticket": {
        "custom_fields": [
            {"id": 360002, "value": "2024-05-13T18:00:00+03:00"},
            {"id": 360003, "value": "2024-05-20T14:44:57+03:00"},
        ],
        "remove_tags": ["sla_unknown_product"],
    }
}


@pytest.fixture
def runtime(database_url, tmp_path):
    path = REGISTRY_FILE
    app = create_app(
        test_config={
            "database_url": database_url,
            "worker": {"backoff_base_seconds": 1, "backoff_cap_seconds": 60},
            "platforms": {
                "zendesk": {
                    "base_url": BASE,
                    "webhook_secret": SECRET,
                    "fields": FIELDS,
                    "credentials": {"email": "connector@ascon.example", "api_token": "t0k3n-for-tests"},
                }
            },
        }
    )
    runtime = app.extensions["connector"]
    import_registry(path, runtime.engine)
    runtime.app = app
    yield runtime
    runtime.close()


class Clock:
    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now


def deliver(runtime, name="ticket_status_changed__pending"):
    headers, body = fixture(name)
    answer_ = runtime.app.test_client().post("/webhooks/zendesk", data=body, headers=signed(headers, body))
    assert answer_.status_code == 202, answer_.json
    return answer_.json["event_id"]


def worker(runtime, clock):
    """A worker on `clock` (events are stored at the real time); its SLA readings are at NOW."""
    processor = Processor(runtime.engine, runtime.adapters, runtime.rules, clock=Clock(NOW))
    return Worker(runtime.store, processor, runtime.config.worker, runtime.metrics, clock=clock)


def real_clock():
    return Clock(datetime.now(UTC) + timedelta(seconds=1))


def expect_put():
    return responses.put(
        f"{BASE}/api/v2/tickets/123.json",
        json=answer("ticket_123_updated"),
        match=[matchers.json_params_matcher(EXPECTED_PUT), matchers.header_matcher({"Authorization": AUTH})],
    )


@responses.activate(assert_all_requests_are_fired=True)
def test_a_webhook_ends_in_exactly_the_right_write(runtime):
    event_id = deliver(runtime)
    expect_ticket_123()
    put = expect_put()
    assert worker(runtime, real_clock()).run_once()
    assert put.call_count == 1
    event = runtime.store.get(event_id)
    assert event.status == "done" and event.result["tier"] == "warranty"
    assert event.result["changed"] == ["first_response_due", "flags", "resolution_due"]
    assert event.result["note"] is None  # the tier did not change: no note
    metrics = runtime.app.test_client().get("/metrics").get_data(as_text=True)
    assert 'connector_platform_calls_total{platform="zendesk",status="200"} 4.0' in metrics
    assert 'connector_events_processed_total{platform="zendesk"} 1.0' in metrics


@responses.activate(assert_all_requests_are_fired=True)
def test_dry_run_records_the_plan_and_writes_nothing(runtime):
    runtime.adapters["zendesk"].settings = runtime.adapters["zendesk"].settings.__class__(
        **{**runtime.adapters["zendesk"].settings.__dict__, "dry_run": True}
    )
    event_id = deliver(runtime)
    expect_ticket_123()
    assert worker(runtime, real_clock()).run_once()
    result = runtime.store.get(event_id).result
    assert result["dry_run"] is True and result["written"] is False
    assert result["resolution_due"] == "2024-05-20T14:44:57+03:00"  # ISO, whole seconds, vendor zone
    assert all(call.request.method == "GET" for call in responses.calls)


@pytest.mark.parametrize(
    "failure",
    [
        {"status": 429, "headers": {"Retry-After": "7"}, "json": {"error": "TooManyRequests"}},
        {"status": 500, "json": {"error": "InternalError"}},
        {"body": requests.exceptions.ConnectTimeout("timed out")},
        {"body": requests.exceptions.ConnectionError("connection refused")},
    ],
)
@responses.activate(assert_all_requests_are_fired=True)
def test_platform_failures_are_retried_then_recover(runtime, failure):
    event_id = deliver(runtime)
    responses.get(f"{BASE}/api/v2/tickets/123.json", **failure)
    clock = real_clock()
    w = worker(runtime, clock)
    assert w.run_once()
    event = runtime.store.get(event_id)
    assert event.status == "pending" and event.attempts == 1 and event.last_error
    if failure.get("status") == 429:
        assert event.next_attempt_at == clock.now + timedelta(seconds=7)
    if isinstance(failure.get("body"), requests.exceptions.ConnectionError) and "refused" in str(failure["body"]):
        assert "cannot reach acme-support.zendesk.com" in event.last_error
    all_fired_then_reset()
    expect_ticket_123()
    put = expect_put()
    clock.now = event.next_attempt_at
    assert w.run_once()
    assert runtime.store.get(event_id).status == "done" and put.call_count == 1


@responses.activate(assert_all_requests_are_fired=True)
def test_events_of_one_ticket_read_once_when_they_arrive_together(runtime):
    first = deliver(runtime, "ticket_status_changed__pending")
    second = deliver(runtime, "ticket_comment_added__public_agent")
    expect_ticket_123()
    expect_put()
    w = worker(runtime, real_clock())
    assert w.run_once() and not w.run_once()
    assert runtime.store.get(second).result == {"covered_by": first}
