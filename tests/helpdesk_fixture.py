"""A real django-helpdesk 2.6 on loopback for the test suite (a pytest plugin: `helpdesk_site`).

Once per session: a fresh SQLite database in a temporary folder, migrated, with a staff API user
and its DRF token, a queue, the connector's custom fields and the closed knowledge base of the
connector_access app (examples/helpdesk_site/bootstrap.py: the site `make run` demonstrates with);
then `manage.py runserver --noreload` on a free port, waited for with a bounded loop, killed at
teardown. Without django-helpdesk installed the tests skip, except on CI (env CI set): they fail.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.support.helpdesk_scenario import require_helpdesk
from tests.support.net import free_port

ROOT = Path(__file__).resolve().parent.parent
SITE = ROOT / "examples" / "helpdesk_site"  # the Django project (package helpdesk_site under examples/)
START_TIMEOUT = 30.0  # seconds for the server to answer after it is started


@dataclass
class HelpdeskSite:
    """A running test instance: where it answers, how to log in, and a few API helpers."""

    base_url: str
    username: str
    password: str
    token: str
    queue_id: int
    site_dir: Path
    started_in: float = 0.0  # seconds from nothing to a site that answers
    session: requests.Session = field(default_factory=requests.Session)
    env: dict = field(default_factory=dict)  # how to run the site's manage.py (same database)
    closed_queue_id: int = 0  # the closed KB's queue (connector_access_setup): a key, no tickets

    def __post_init__(self) -> None:
        self.session.headers["Authorization"] = f"Token {self.token}"

    def api(self, method: str, path: str, payload: Any = None, expect: int = 200) -> Any:
        """Call its REST API as the staff user; the JSON answer (asserting the status)."""
        r = self.session.request(method, f"{self.base_url}{path}", json=payload, timeout=15)
        assert r.status_code == expect, f"{method} {path}: {r.status_code} {r.text[:300]}"
        return r.json() if r.content else None

    def create_ticket(self, submitter_email: str = "ivan@customer.example", **fields: Any) -> dict:
        """A new ticket through the API (as an agent or an integration would make one)."""
        doc = {
            "queue": self.queue_id,
            "title": "Cannot install",
            "description": "Installer fails",
            "submitter_email": submitter_email,
            "priority": 3,
            **fields,
        }
        return self.api("POST", "/api/tickets/", doc, expect=201)

    def add_followup(
        self, ticket_id: int | str, comment: str = "", public: bool = True, new_status: int | None = None
    ) -> dict:
        """A follow-up by the staff user (a reply, a note, a status change)."""
        doc = {"ticket": int(ticket_id), "comment": comment, "public": public, "new_status": new_status}
        return self.api("POST", "/api/followups/", doc, expect=201)

    def set_webhooks(self, new_ticket: Sequence[str] = (), followup: Sequence[str] = ()) -> None:
        """Point its webhooks (read by the site on every event) at these URLs; none by default."""
        (self.site_dir / "new_ticket_webhook_urls").write_text("\n".join(new_ticket))
        (self.site_dir / "followup_webhook_urls").write_text("\n".join(followup))

    def manage(self, *args: str, extra_env: dict | None = None) -> str:
        """Run the site's `manage.py` (against the running site's database); its stdout."""
        done = subprocess.run(
            [sys.executable, str(SITE / "manage.py"), *args],
            cwd=ROOT,
            env={**self.env, **(extra_env or {})},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, f"manage.py {args[0]} failed:\n{done.stderr[-3000:]}"
        return done.stdout

    def set_password(self, email: str, password: str) -> None:
        """Give the account of `email` a password (as its owner would with a password reset)."""
        code = (
            "import os; from django.contrib.auth import get_user_model as m; "
            "u = m().objects.get(email__iexact=os.environ['PW_EMAIL']); "
            "u.set_password(os.environ['PW_PASSWORD']); u.save()"
        )
        self.manage("shell", "-c", code, extra_env={"PW_EMAIL": email, "PW_PASSWORD": password})

    def login(self, username: str, password: str) -> requests.Session:
        """A browser-like session logged in through the helpdesk's own login page."""
        browser = requests.Session()
        page = browser.get(f"{self.base_url}/login/", timeout=15)
        assert page.status_code == 200, page.status_code
        form = {
            "username": username,
            "password": password,
            "next": "/",
            "csrfmiddlewaretoken": browser.cookies["csrftoken"],
        }
        r = browser.post(
            f"{self.base_url}/login/",
            data=form,
            allow_redirects=False,
            timeout=15,
            headers={"Referer": f"{self.base_url}/login/"},
        )
        assert r.status_code == 302 and "sessionid" in browser.cookies, f"login failed: {r.status_code}"
        return browser

    @contextmanager
    def webhooks_to(self, url: str) -> Iterator[None]:
        """Both webhooks at `url` for the block, none after it."""
        self.set_webhooks([url], [url])
        try:
            yield
        finally:
            self.set_webhooks()


def _wait_until_up(proc: subprocess.Popen, url: str, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"django-helpdesk exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            requests.get(url, timeout=1)
            return
        except requests.ConnectionError:
            time.sleep(0.1)
    raise RuntimeError(f"django-helpdesk did not answer within {START_TIMEOUT:g} s:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="session")
def helpdesk_site(tmp_path_factory) -> Iterator[HelpdeskSite]:
    """A running django-helpdesk with an API token, a queue, the connector's custom fields and the
    closed KB (group "closed-kb-readers", queue and category "closed-kb"; public category "public-kb")."""
    require_helpdesk()
    started = time.monotonic()
    site_dir = tmp_path_factory.mktemp("helpdesk")
    env = {
        **os.environ,
        "HELPDESK_SITE_DIR": str(site_dir),
        "DJANGO_SETTINGS_MODULE": "helpdesk_site.settings",
        "HELPDESK_FAST_PASSWORD_HASHER": "1",
    }  # tests log many accounts in
    env.pop("HELPDESK_SECRET_KEY_FILE", None)
    env.pop("HELPDESK_NEW_TICKET_WEBHOOK_URLS", None)
    env.pop("HELPDESK_FOLLOWUP_WEBHOOK_URLS", None)
    boot = subprocess.run(
        [sys.executable, str(SITE / "bootstrap.py")], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert boot.returncode == 0, f"bootstrap failed:\n{boot.stderr[-3000:]}"
    creds = json.loads(boot.stdout.strip().splitlines()[-1])
    port = free_port()
    log = site_dir / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, str(SITE / "manage.py"), "runserver", "--noreload", f"127.0.0.1:{port}"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        base_url = f"http://127.0.0.1:{port}"
        _wait_until_up(proc, f"{base_url}/api/", log)
        site = HelpdeskSite(
            base_url,
            creds["username"],
            creds["password"],
            creds["token"],
            creds["queue_id"],
            site_dir,
            time.monotonic() - started,
            env=env,
            closed_queue_id=creds["closed_queue_id"],
        )
        site.set_webhooks()
        yield site
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
