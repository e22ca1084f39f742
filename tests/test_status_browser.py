"""The status page in a real browser: Debian's Chromium driven by Playwright (never a browser of
Playwright's own: nothing is downloaded), against a connector on loopback that a REAL
django-helpdesk calls. Log in, see the helpdesk's ticket with its tier, replay a failed event,
open the customer's report; on a phone-sized screen too. Screenshots of each page are saved in
the test's tmp dir (`pytest --basetemp DIR` keeps them where you want them).
"""

import json
import os
import shutil
import threading
from datetime import UTC, datetime, timedelta

import pytest
import waitress

from connector.core.events import TicketEvent
from connector.storage.registry_import import import_registry
from connector.web import create_app
from tests.support.helpdesk_scenario import REGISTRY, SECRET
from tests.support.net import free_port

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TOKEN = "browser-test-admin-token-0123456789"


def _browser():
    """Playwright's Chromium on Debian's binary; skipped on a machine without them (failed on CI)."""
    reason = None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        reason = f"playwright is not installed ({exc}): pip install -e '.[test]'"
    if reason is None and not shutil.which(CHROMIUM):
        reason = f"{CHROMIUM} is missing: apt-get install chromium chromium-driver"
    if reason:
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return sync_playwright


def run_worker(runtime) -> None:
    """Process every stored event with the processor `serve` runs (its after-steps keep the ledger)."""
    worker = runtime.worker(runtime.processor())
    for _ in range(20):  # bounded: a handful of events at most
        if not worker.run_once():
            break


@pytest.fixture
def connector_site(helpdesk_site, tmp_path):
    """A connector with the status page (admin token) on a free loopback port, fed by the helpdesk."""
    (tmp_path / "registry.json").write_text(json.dumps(REGISTRY))
    app = create_app(
        test_config={
            "database_url": f"sqlite:///{tmp_path / 'connector.db'}",
            "admin": {"token": TOKEN},
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


def test_log_in_see_the_ticket_replay_a_failure_open_a_report(helpdesk_site, connector_site, tmp_path):
    sync_playwright = _browser()
    base, runtime = connector_site
    with helpdesk_site.webhooks_to(f"{base}/webhooks/django-helpdesk?token={SECRET}"):
        created = helpdesk_site.create_ticket("ivan@customer.example", title="Browser test: KOMPAS crashes")
        run_worker(runtime)
    # a delivery for a ticket the helpdesk does not have: its API answers 404, the event is dead-lettered
    now = datetime.now(UTC)
    runtime.store.add(TicketEvent("django-helpdesk", "987654", "ticket.created", "browser-missing", now), b"{}", now)
    run_worker(runtime)
    failed = runtime.store.list("failed")
    assert [e.ticket_id for e in failed] == ["987654"]
    shots = tmp_path / "screenshots"
    shots.mkdir()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(15_000)
            page.goto(f"{base}/")
            assert page.url == f"{base}/login"  # no session: the login form
            page.screenshot(path=str(shots / "1-login.png"))
            page.fill("input[name=token]", "wrong-token-0123456789")
            page.click("button[type=submit]")
            assert "not the admin token" in page.inner_text("body")
            page.fill("input[name=token]", TOKEN)
            page.click("button[type=submit]")
            page.wait_for_url(f"{base}/")
            row = page.locator("#tickets tr", has_text="Browser test: KOMPAS crashes")
            assert row.count() == 1 and f"django-helpdesk {created['id']}" in row.inner_text()
            assert "warranty" in row.inner_text() and "Ivanov Design" in row.inner_text()
            cookie = next(c for c in page.context.cookies() if c["name"] == "connector_admin")
            assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
            assert "987654" in page.inner_text("#failed") and "404" in page.inner_text("#failed")
            page.screenshot(path=str(shots / "2-status.png"), full_page=True)

            page.click(f"#failed button[aria-label='Replay event {failed[0].id}']")
            page.wait_for_url(f"{base}/")
            assert "1 event(s) queued again" in page.inner_text("main")
            assert runtime.store.get(failed[0].id).status == "pending"
            page.screenshot(path=str(shots / "3-replayed.png"), full_page=True)

            link = page.locator("#reports tr", has_text="C-IV").locator("a", has_text="page").first
            link.click()
            page.wait_for_load_state()
            assert "SLA report: Ivanov Design (C-IV)" in page.inner_text("h1")
            assert "Browser test" not in page.content()  # the report lists tickets, not subjects
            assert str(created["id"]) in page.inner_text("table.tickets") and page.locator("svg.chart").count() == 1
            page.screenshot(path=str(shots / "4-report.png"), full_page=True)

            phone = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=2)
            phone.context.add_cookies([cookie])
            phone.goto(f"{base}/")
            overflow = phone.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"the page is {overflow}px wider than a phone's screen"
            phone.screenshot(path=str(shots / "5-status-phone.png"), full_page=True)
        finally:
            browser.close()
    assert sorted(p.name for p in shots.iterdir()) == [
        "1-login.png",
        "2-status.png",
        "3-replayed.png",
        "4-report.png",
        "5-status-phone.png",
    ]
    assert (datetime.now(UTC) - now) < timedelta(minutes=5)
