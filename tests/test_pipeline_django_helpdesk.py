"""End to end with a REAL django-helpdesk: its own webhooks call a real connector server on
loopback, the worker reads the ticket through its REST API, resolves the entitlement and writes
due_date and custom fields back; the test reads the ticket back from the helpdesk."""

import json
import threading
from datetime import UTC, datetime, timedelta

import pytest
import waitress

from connector.config.calendars import build_calendar
from connector.pipeline.process import Processor
from connector.pipeline.worker import Worker
from connector.storage.registry_import import import_registry
from connector.web import create_app
from tests.support.helpdesk_scenario import REGISTRY, SECRET
from tests.support.net import free_port


@pytest.fixture
def connector_server(helpdesk_site, tmp_path):
    """A connector (web app on waitress, SQLite) on a free loopback port, and its runtime."""
    (tmp_path / "registry.json").write_text(json.dumps(REGISTRY))
    app = create_app(
        test_config={
            "database_url": f"sqlite:///{tmp_path / 'connector.db'}",
            "platforms": {
                "django-helpdesk": {
                    "base_url": helpdesk_site.base_url,
                    "webhook_secret": SECRET,
                    "credentials": {"token": helpdesk_site.token},
                }
            },
        }
    )
    runtime = app.extensions["connector"]
    import_registry(tmp_path / "registry.json", runtime.engine)
    port = free_port()
    server = waitress.create_server(app, host="127.0.0.1", port=port, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}", runtime
    server.close()
    thread.join(timeout=10)
    runtime.close()


def run_worker(runtime) -> list[dict]:
    """Process every stored event; their results."""
    worker = Worker(
        runtime.store,
        Processor(runtime.engine, runtime.adapters, runtime.rules),
        runtime.config.worker,
        runtime.metrics,
    )
    for _ in range(20):  # bounded: a handful of events at most
        if not worker.run_once():
            break
    return [e.result for e in reversed(runtime.store.list()) if e.status == "done"]


def test_a_new_ticket_gets_its_tier_and_due_dates(helpdesk_site, connector_server):
    base, runtime = connector_server
    with helpdesk_site.webhooks_to(f"{base}/webhooks/django-helpdesk?token={SECRET}"):
        created = helpdesk_site.create_ticket("ivan@customer.example", title="KOMPAS crashes")
        assert [e.kind for e in runtime.store.list()] == ["ticket.created"]  # stored before the answer
        # writing the note posts a follow-up, so helpdesk calls us again while we work:
        # that second event is processed too, and changes nothing
        first, second = run_worker(runtime)
        assert [e.kind for e in reversed(runtime.store.list())] == ["ticket.created", "followup.created"]
        assert first["tier"] == "warranty" and first["written"] is True and first["note"]
        assert first["changed"] == ["first_response_due", "resolution_due", "tier"]
        assert (second["written"], second["changed"], second["note"]) == (False, [], None)
        ticket = helpdesk_site.api("GET", f"/api/tickets/{created['id']}/")
        opened = datetime.fromisoformat(ticket["followup_set"][0]["date"].replace("Z", "+00:00"))
        calendar = build_calendar("default")
        due = calendar.add(opened, timedelta(hours=40)).astimezone(UTC).replace(microsecond=0)
        assert datetime.fromisoformat(ticket["due_date"].replace("Z", "+00:00")) == due  # whole seconds
        assert ticket["custom_tier"] == "warranty"
        assert datetime.fromisoformat(ticket["custom_first_response_due"]) == calendar.add(
            opened, timedelta(hours=8)
        ).replace(microsecond=0)
        notes = [f for f in ticket["followup_set"] if not f["public"]]
        assert len(notes) == 1 and "Support tier: warranty" in notes[0]["comment"]
    after = helpdesk_site.api("GET", f"/api/tickets/{created['id']}/")
    assert len([f for f in after["followup_set"] if not f["public"]]) == 1  # never a note per event


def test_a_wrong_token_in_the_url_is_refused(helpdesk_site, connector_server):
    base, runtime = connector_server
    with helpdesk_site.webhooks_to(f"{base}/webhooks/django-helpdesk?token=wrong-token-0123456789"):
        helpdesk_site.create_ticket("ivan@customer.example")
    assert runtime.store.list() == []
    metrics = runtime.metrics.render().decode()
    assert 'connector_events_received_total{outcome="Unauthorized",platform="django-helpdesk"} 1.0' in metrics
