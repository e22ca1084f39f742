"""The django-helpdesk adapter against a REAL django-helpdesk 2.6 on loopback (tests/helpdesk_fixture.py):
its API read and written, its webhooks received. Every wait is bounded."""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from connector.config.calendars import build_calendar
from connector.config.rules import rulebook
from connector.config.schemas import validate
from connector.config.settings import PlatformSettings
from connector.core.errors import PlatformRejected
from connector.core.events import Delivery
from connector.core.ticket import Target, TicketStatus, plan_write_back
from connector.pipeline.process import Processor
from connector.platforms.django_helpdesk import DjangoHelpdeskAdapter
from connector.storage import open_database
from tests.support.net import free_port

SECRET = "live-webhook-secret-0123456789"
CALENDAR = build_calendar("default")
HOURS = timedelta(hours=1)


def make_adapter(site, **kw) -> DjangoHelpdeskAdapter:
    creds = kw.pop("credentials", {"token": site.token})
    settings = PlatformSettings("django-helpdesk", site.base_url, SECRET, credentials=creds, **kw)
    return DjangoHelpdeskAdapter(settings, DjangoHelpdeskAdapter.client_for(settings))


def count_requests(adapter: DjangoHelpdeskAdapter) -> list[tuple[str, str]]:
    """Record every network call the adapter's client makes (method, URL), still making it."""
    calls: list[tuple[str, str]] = []
    real = adapter.client._request

    def counted(method, url, headers, body):
        calls.append((method, url))
        return real(method, url, headers, body)

    adapter.client._request = counted  # type: ignore[method-assign]
    return calls


def plan(ticket, tier: str, fr_hours: float | None, res_hours: float | None, flags=(), now=None):
    """What the core would plan for this tier (on the default calendar)."""
    now = now or ticket.created_at + timedelta(minutes=5)
    target = lambda h: Target(None if h is None else h * HOURS, CALENDAR)  # noqa: E731
    return plan_write_back(ticket, tier, flags, None, target(fr_hours), target(res_hours), now)


@pytest.fixture
def adapter(helpdesk_site) -> DjangoHelpdeskAdapter:
    return make_adapter(helpdesk_site)


def test_site_starts_within_half_a_minute(helpdesk_site):
    assert helpdesk_site.started_in < 30


def test_fetch_a_new_ticket(helpdesk_site, adapter):
    doc = helpdesk_site.create_ticket(
        "olga@customer.example",
        custom_product="kompas-3d",
        custom_request_type="information",
        custom_topic="installation",
    )
    ticket = adapter.fetch_ticket(str(doc["id"]))
    opened = datetime.fromisoformat(doc["followup_set"][0]["date"])
    assert (ticket.platform, ticket.id, ticket.created_at) == ("django-helpdesk", str(doc["id"]), opened)
    assert abs(datetime.now(UTC) - ticket.created_at) < timedelta(minutes=5)
    assert (ticket.requester_email, ticket.product, ticket.request_type, ticket.topic) == (
        "olga@customer.example",
        "kompas-3d",
        "information",
        "installation",
    )
    assert [s.status for s in ticket.statuses] == [TicketStatus.OPEN]
    assert ticket.first_response_at is None  # the opening follow-up is public and by staff: not a reply
    assert ticket.carried.tier is None and ticket.carried.resolution_due is None and not ticket.carried.flags


def test_status_history_and_first_public_reply_from_followups(helpdesk_site, adapter):
    tid = helpdesk_site.create_ticket()["id"]
    note = helpdesk_site.add_followup(tid, "internal: check the license server", public=False)
    reply = helpdesk_site.add_followup(tid, "Please send the installer log.")
    solved = helpdesk_site.add_followup(tid, "Fixed in SP2", new_status=3)
    reopened = helpdesk_site.add_followup(tid, "Still failing", new_status=2)
    closed = helpdesk_site.add_followup(tid, "", public=False, new_status=4)
    ticket = adapter.fetch_ticket(str(tid))
    date = lambda f: datetime.fromisoformat(f["date"])  # noqa: E731
    assert [(s.at, s.status) for s in ticket.statuses[1:]] == [
        (date(solved), TicketStatus.SOLVED),
        (date(reopened), TicketStatus.OPEN),
        (date(closed), TicketStatus.CLOSED),
    ]
    assert ticket.first_response_at == date(reply) > date(note)


def test_write_back_then_read_the_ticket_back(helpdesk_site, adapter):
    tid = str(helpdesk_site.create_ticket(custom_product="kompas-3d")["id"])
    ticket = adapter.fetch_ticket(tid)
    wb = plan(ticket, "warranty", 8, 40, flags=["portal_on_basic", "unknown_requester"])
    assert wb.changed == {"tier", "first_response_due", "resolution_due", "flags"} and wb.note
    adapter.write_back(ticket, wb)

    doc = helpdesk_site.api("GET", f"/api/tickets/{tid}/")
    assert datetime.fromisoformat(doc["due_date"]) == wb.desired.resolution_due
    assert doc["custom_tier"] == "warranty"
    assert datetime.fromisoformat(doc["custom_first_response_due"]) == wb.desired.first_response_due
    assert datetime.fromisoformat(doc["custom_resolution_due"]) == wb.desired.resolution_due
    assert doc["custom_flags"] == "portal_on_basic,unknown_requester"
    assert doc["custom_product"] == "kompas-3d"  # untouched
    notes = [f for f in doc["followup_set"] if f["comment"] == wb.note]
    assert len(notes) == 1 and notes[0]["public"] is False
    assert doc["title"] == "Cannot install"  # a follow-up's title would have renamed the ticket
    assert adapter.fetch_ticket(tid).carried == wb.desired


def test_nothing_changed_means_no_write_call(helpdesk_site, adapter):
    tid = str(helpdesk_site.create_ticket()["id"])
    ticket = adapter.fetch_ticket(tid)
    adapter.write_back(ticket, plan(ticket, "warranty", 8, 40, flags=["x"]))
    calls = count_requests(adapter)
    again = adapter.fetch_ticket(tid)
    wb = plan(again, "warranty", 8, 40, flags=["x"])
    assert not wb.needed, wb.changed
    adapter.write_back(again, wb)
    assert calls == [("GET", f"{helpdesk_site.base_url}/api/tickets/{tid}/")]


def test_a_lower_tier_clears_the_resolution_due(helpdesk_site, adapter):
    tid = str(helpdesk_site.create_ticket()["id"])
    ticket = adapter.fetch_ticket(tid)
    adapter.write_back(ticket, plan(ticket, "warranty", 8, 40))
    ticket = adapter.fetch_ticket(tid)
    wb = plan(ticket, "basic", 16, None)
    assert wb.changed == {"tier", "first_response_due", "resolution_due"} and "(was warranty)" in wb.note
    calls = count_requests(adapter)
    adapter.write_back(ticket, wb)
    assert [m for m, _ in calls] == ["PATCH", "POST"]  # one PATCH, one note
    doc = helpdesk_site.api("GET", f"/api/tickets/{tid}/")
    assert (doc["due_date"], doc["custom_resolution_due"], doc["custom_tier"]) == (None, "-", "basic")
    assert adapter.fetch_ticket(tid).carried == wb.desired


def test_dry_run_writes_nothing(helpdesk_site, tmp_path):
    """The pipeline decides the dry run: the ticket is read, the plan recorded, nothing written."""
    adapter = make_adapter(helpdesk_site, dry_run=True)
    tid = str(helpdesk_site.create_ticket()["id"])
    engine = open_database(f"sqlite:///{tmp_path / 'c.db'}")
    processor = Processor(engine, {adapter.name: adapter}, rulebook())
    calls = count_requests(adapter)
    result = processor.process_ticket(adapter, tid)
    assert result["dry_run"] is True and result["written"] is False and result["changed"]
    assert [method for method, _url in calls] == ["GET"]
    assert helpdesk_site.api("GET", f"/api/tickets/{tid}/")["custom_tier"] == ""
    engine.dispose()


def test_basic_auth_works_and_a_wrong_token_is_rejected(helpdesk_site):
    tid = str(helpdesk_site.create_ticket()["id"])
    basic = make_adapter(
        helpdesk_site, credentials={"username": helpdesk_site.username, "password": helpdesk_site.password}
    )
    assert basic.fetch_ticket(tid).id == tid
    with pytest.raises(PlatformRejected) as err:
        make_adapter(helpdesk_site, credentials={"token": "0" * 40}).fetch_ticket(tid)
    assert err.value.status == 401


def test_a_missing_custom_field_is_said_out_loud(helpdesk_site):
    tid = str(helpdesk_site.create_ticket()["id"])
    with pytest.raises(PlatformRejected, match="no custom field sla_tier"):
        make_adapter(helpdesk_site, fields={"tier": "sla_tier"}).fetch_ticket(tid)


class Receiver:
    """A loopback HTTP endpoint standing in for the connector: it keeps what it is sent."""

    def __init__(self) -> None:
        self.received: queue.Queue = queue.Queue()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                outer.received.put((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(202)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/webhooks/django-helpdesk?token={SECRET}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def delivery(self, timeout: float = 10.0) -> Delivery:
        """The next delivery as the web layer builds it (waits at most `timeout` s)."""
        path, headers, body = self.received.get(timeout=timeout)
        token = parse_qs(urlsplit(path).query).get("token", [None])[0]
        return Delivery(headers, body, token)


@pytest.fixture
def receiver(helpdesk_site) -> Iterator[Receiver]:
    r = Receiver()
    with helpdesk_site.webhooks_to(r.url):
        yield r
    r.server.shutdown()
    r.server.server_close()


def accept(adapter: DjangoHelpdeskAdapter, d: Delivery):
    """What `POST /webhooks/django-helpdesk` does with a delivery before storing it."""
    assert d.header("content-type") == "application/json"
    adapter.verify(d, adapter.settings.webhook_secret, datetime.now(UTC))
    payload = json.loads(d.body)
    validate(adapter.schema_name(), payload, "django-helpdesk webhook body")
    return adapter.parse(d, payload)


def test_real_webhooks_parse(helpdesk_site, adapter, receiver):
    tid = helpdesk_site.create_ticket()["id"]
    created = accept(adapter, receiver.delivery())
    assert (created.kind, created.ticket_id) == ("ticket.created", str(tid))
    followup = helpdesk_site.add_followup(tid, "Please send the log")
    event = accept(adapter, receiver.delivery())
    assert (event.kind, event.ticket_id, event.occurred_at) == (
        "followup.created",
        str(tid),
        datetime.fromisoformat(followup["date"]),
    )
    assert event.delivery_id != created.delivery_id
    # The connector's own write: a PATCH sends no webhook, the note (a follow-up) does.
    ticket = adapter.fetch_ticket(str(tid))
    adapter.write_back(ticket, plan(ticket, "warranty", 8, 40))
    note = accept(adapter, receiver.delivery())
    assert note.kind == "followup.created"
    with pytest.raises(queue.Empty):
        receiver.delivery(timeout=1.0)


def test_receiver_down_gives_500_but_the_ticket_is_saved(helpdesk_site):
    """Known django-helpdesk behaviour: only webhook timeouts are caught, a refused connection
    escapes into a 500 after the ticket was saved."""
    url = f"http://127.0.0.1:{free_port()}/webhooks/django-helpdesk?token={SECRET}"
    before = helpdesk_site.api("GET", "/api/tickets/?page_size=1")["count"]
    with helpdesk_site.webhooks_to(url):
        r = requests.post(
            f"{helpdesk_site.base_url}/api/tickets/",
            timeout=15,
            headers={"Authorization": f"Token {helpdesk_site.token}"},
            json={
                "queue": helpdesk_site.queue_id,
                "title": "Receiver down",
                "description": "x",
                "submitter_email": "a@customer.example",
                "priority": 3,
            },
        )
    assert r.status_code == 500
    assert helpdesk_site.api("GET", "/api/tickets/?page_size=1")["count"] == before + 1
