"""The admin's status page over HTTP (Flask's test client): fail closed, login, Bearer, CSRF and
Origin on replay, escaping, no secret on the page, and the report links."""

import re
from datetime import UTC, datetime

import pytest

from connector.core.events import TicketEvent
from connector.web import create_app
from tests.support.report_scenario import load_scenario

TOKEN = "admin-token-for-tests-0123456789"
WEBHOOK_SECRET = "zendesk-webhook-secret-0123456789"
API_TOKEN = "zendesk-api-token-secret-abcdef"


def _app(tmp_path, admin=True):
    config = {
        "database_url": f"sqlite:///{tmp_path / 'connector.db'}",
        "platforms": {
            "zendesk": {
                "base_url": "https://acme.zendesk.com",
                "webhook_secret": WEBHOOK_SECRET,
                "credentials": {"email": "bot@acme.example", "api_token": API_TOKEN},
            }
        },
    }
    if admin:
        config["admin"] = {"token": TOKEN}
    return create_app(test_config=config)


@pytest.fixture
def app(tmp_path):
    app = _app(tmp_path)
    yield app
    app.extensions["connector"].close()


def _failed_event(runtime, ticket="77", error="HTTP 404: ticket 77 not found"):
    now = datetime.now(UTC)
    event_id, _ = runtime.store.add(TicketEvent("zendesk", ticket, "ticket.created", f"d-{ticket}", now), b"{}", now)
    claimed = runtime.store.claim("w", now, __import__("datetime").timedelta(seconds=60))
    runtime.store.dead_letter(claimed, "w", error, now)
    return event_id


def _login(client):
    answer = client.post("/login", data={"token": TOKEN})
    assert answer.status_code == 303 and answer.headers["Location"].endswith("/")
    return answer


def _csrf(client):
    page = client.get("/").get_data(as_text=True)
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


def test_without_an_admin_token_the_page_does_not_exist(tmp_path):
    app = _app(tmp_path, admin=False)
    client = app.test_client()
    for path in ("/", "/login", "/reports/C-AL", "/reports"):
        assert client.get(path).status_code == 404, path
    assert client.post("/login", data={"token": "x" * 20}).status_code == 404
    assert client.post("/replay", data={"all": "1"}).status_code == 404
    assert client.get("/", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 404
    app.extensions["connector"].close()


def test_a_visitor_is_sent_to_the_login_form(app):
    client = app.test_client()
    answer = client.get("/")
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/login")
    form = client.get("/login").get_data(as_text=True)
    assert '<input id="token" name="token" type="password"' in form
    assert client.get("/reports/C-AL").status_code == 302


def test_login_sets_a_strict_http_only_cookie_and_a_wrong_token_is_refused(app):
    client = app.test_client()
    wrong = client.post("/login", data={"token": "not-the-token-at-all"})
    assert wrong.status_code == 401 and "not the admin token" in wrong.get_data(as_text=True)
    assert "Set-Cookie" not in wrong.headers
    cookie = _login(client).headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and cookie.startswith("connector_admin=")
    assert TOKEN not in cookie
    assert client.get("/").status_code == 200
    client.post("/logout", data={"csrf": _csrf(client)})
    assert client.get("/").status_code == 302


def test_scripts_may_send_a_bearer_token(app):
    client = app.test_client()
    assert client.get("/", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    wrong = client.get("/", headers={"Authorization": "Bearer wrong-token-0123456789"})
    assert wrong.status_code == 401 and "Bearer" in wrong.get_json()["error"]
    assert client.get("/", headers={"Authorization": f"Basic {TOKEN}"}).status_code == 401


def test_replay_needs_the_session_csrf_token_and_the_same_origin(app):
    runtime = app.extensions["connector"]
    event_id = _failed_event(runtime)
    client = app.test_client()
    _login(client)
    csrf = _csrf(client)
    assert client.post("/replay", data={"event": event_id}).status_code == 403
    assert client.post("/replay", data={"event": event_id, "csrf": "forged"}).status_code == 403
    assert (
        client.post(
            "/replay", data={"event": event_id, "csrf": csrf}, headers={"Origin": "https://evil.example"}
        ).status_code
        == 403
    )
    assert runtime.store.get(event_id).status == "failed"  # nothing replayed
    done = client.post("/replay", data={"event": event_id, "csrf": csrf}, headers={"Origin": "http://localhost"})
    assert done.status_code == 303 and runtime.store.get(event_id).status == "pending"
    assert "1 event(s) queued again" in client.get("/").get_data(as_text=True)


def test_replay_with_a_bearer_token_answers_json(app):
    runtime = app.extensions["connector"]
    event_id = _failed_event(runtime)
    client = app.test_client()
    answer = client.post("/replay", data={"event": event_id}, headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200 and answer.get_json() == {"replayed": 1}
    assert client.post("/replay", data={"event": "x"}, headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 400


def test_the_page_shows_the_queue_failures_tickets_and_reports(app, tmp_path):
    runtime = app.extensions["connector"]
    load_scenario(runtime.engine, tmp_path)
    _failed_event(runtime, error="HTTP 503 <b>bold</b> from the platform")
    client = app.test_client()
    _login(client)
    page = client.get("/").get_data(as_text=True)
    assert re.search(r"<b class=\"bad\">1</b>failed", page)
    assert "HTTP 503 &lt;b&gt;bold&lt;/b&gt; from the platform" in page  # escaped
    assert "Ann Petrova" in page and "ticket 3" in page and "individual" in page and "unknown_requester" in page
    assert page.count('<span class="tier') == 7
    assert "Last imported" in page and "<b>3</b>contacts" in page
    for secret in (TOKEN, WEBHOOK_SECRET, API_TOKEN):
        assert secret not in page
    assert "https://acme.zendesk.com" in page and "bot@acme.example" not in page


def test_a_requester_named_like_a_script_is_shown_as_text(app, tmp_path):
    runtime = app.extensions["connector"]
    from tests.support import report_scenario as scn

    saved = scn.TICKETS[0]
    scn.TICKETS[0] = scn._ticket(
        "1", "2026-02-02 10:00", "ann@alpha.ru", "KOMPAS", "error", name="<script>alert(1)</script>"
    )
    try:
        load_scenario(runtime.engine, tmp_path)
    finally:
        scn.TICKETS[0] = saved
    client = app.test_client()
    _login(client)
    page = client.get("/").get_data(as_text=True)
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_reports_are_served_in_every_format(app, tmp_path):
    load_scenario(app.extensions["connector"].engine, tmp_path)
    client = app.test_client()
    _login(client)
    query = "from=2026-02-02&to=2026-02-08"
    html = client.get(f"/reports/C-AL?{query}")
    assert html.status_code == 200 and "SLA report: Alpha Design (C-AL)" in html.get_data(as_text=True)
    assert "format=pdf" in html.get_data(as_text=True)  # links to the other formats
    pdf = client.get(f"/reports/C-AL?{query}&format=pdf")
    assert pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF-")
    csv = client.get(f"/reports/C-AL?{query}&format=csv")
    assert csv.data.decode().splitlines()[0].startswith("platform,ticket,created_at")
    assert "attachment" in csv.headers["Content-Disposition"]
    assert client.get(f"/reports?{query}&format=json").get_json()["customer"] is None
    bad = client.get("/reports/NOPE?from=2026-02-02")
    assert bad.status_code == 400 and "unknown customer" in bad.get_json()["error"]
    assert client.get("/reports/C-AL?from=2026-02-09&to=2026-02-01").status_code == 400
    assert client.get(f"/reports/C-AL?{query}&format=xls").status_code == 400
