"""A REAL Redmine 5 and a REAL `connector serve` on loopback, once per test session (`redmine_live`).

Redmine (tests/support/redmine.py: Debian's redmine 5.0.4 on SQLite, our plugin installed, set up
by webhooks/redmine/connector_setup.rb) is started with its plugin pointed at a connector that
is then started as a subprocess, `connector serve --config connector.toml`, on a free port, with
the redmine platform, its API key (by environment variable, as an admin would), the custom field
ids and the KB group that setup printed. Users are made through Redmine's REST API: agents anna
and boris (Developer members of `support`), customers ivan and petr (Reporters, customer C-IV,
warranty) and olga (Reporter, C-BIG, an individual contract whose dedicated engineer is boris).

The Redmine template (about 15 s to build) is kept in pytest's cache folder, so a session pays
only the server's start (about 5 s); without the cache provider it goes to the session's
temporary folder. Without Redmine installed the tests skip, except on CI (env CI set): they fail.
Every wait is bounded; both servers are stopped at the end of the session.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy.engine import Engine

from connector.platforms.standard_webhooks import new_secret
from connector.storage import open_database
from connector.storage.events import EventStore, StoredEvent
from connector.storage.registry_import import import_registry
from tests.support.redmine import Redmine, free_port, redmine_missing, start_redmine

ROOT = Path(__file__).resolve().parent.parent
SERVE_TIMEOUT = 30.0  # seconds for `connector serve` to answer /healthz
WAIT = 30.0  # seconds for an event to be processed end to end
USERS = {  # login -> (first name, last name, e-mail, role in support)
    "anna": ("Anna", "Agent", "anna@vendor.example", "Developer"),
    "boris": ("Boris", "Engineer", "boris@vendor.example", "Developer"),
    "ivan": ("Ivan", "Petrov", "ivan.petrov@customer.example", "Reporter"),
    "petr": ("Petr", "Sidorov", "petr@customer.example", "Reporter"),
    "olga": ("Olga", "Smirnova", "olga@bigcorp.example", "Reporter"),
}


def registry(today: date) -> dict[str, Any]:
    """C-IV holds a warranty (an update package bought 100 days ago); C-BIG an individual contract
    (4 and 16 working hours on the vendor's calendar, KB access, engineer boris)."""
    return {
        "products": [{"code": "KOMPAS-3D", "name": "KOMPAS-3D"}],
        "customers": [
            {"id": "C-IV", "name": "Ivanov Design", "email_domains": ["customer.example"]},
            {"id": "C-BIG", "name": "Bigcorp", "email_domains": ["bigcorp.example"]},
        ],
        "contacts": [
            {"email": "ivan.petrov@customer.example", "customer": "C-IV", "name": "Ivan Petrov"},
            {"email": "olga@bigcorp.example", "customer": "C-BIG", "name": "Olga Smirnova"},
        ],
        "licenses": [
            {"customer": "C-IV", "product": "KOMPAS-3D", "since": "2020-01-15"},
            {"customer": "C-BIG", "product": "KOMPAS-3D", "since": "2019-05-01"},
        ],
        "purchases": [
            {
                "customer": "C-IV",
                "product": "KOMPAS-3D",
                "kind": "update_package",
                "date": (today - timedelta(days=100)).isoformat(),
            }
        ],
        "contracts": [
            {
                "number": "SLA-BIG",
                "customer": "C-BIG",
                "counterparty": "central",
                "starts": (today - timedelta(days=30)).isoformat(),
                "ends": (today + timedelta(days=300)).isoformat(),
                "products": "*",
                "sla": {
                    "first_response_hours": 4,
                    "resolution_hours": 16,
                    "kb_access": True,
                    "dedicated_engineer": "boris@vendor.example",
                },
            }
        ],
    }


def config_text(rm: Redmine, port: int, database_url: str) -> str:
    """The connector's config: the redmine platform with secrets from the environment."""
    fields = "\n".join(f"{name} = {fid}" for name, fid in rm.custom_fields.items())
    return f"""database_url = "{database_url}"
[server]
port = {port}
threads = 4
[worker]
threads = 2
poll_seconds = 0.1
backoff_base_seconds = 1
[alerts]
enabled = false
[platforms.redmine]
base_url = "{rm.base_url}"
webhook_secret_env = "LIVE_REDMINE_WEBHOOK_SECRET"
[platforms.redmine.credentials]
api_key_env = "LIVE_REDMINE_API_KEY"
[platforms.redmine.fields]
{fields}
[platforms.redmine.options]
project = "support"
kb_group = {rm.kb_group_id}
kb_project = "kb"
"""


@dataclass
class RedmineLive:
    """The running pair, and helpers for the tests."""

    rm: Redmine
    connector_url: str
    config_path: Path
    env: dict[str, str]
    engine: Engine
    secret: str
    users: dict[str, dict] = field(default_factory=dict)
    serve_log: Path | None = None

    def as_user(self, login: str) -> str:
        """The API key of one of the test users."""
        return self.users[login]["api_key"]

    def create_issue(self, login: str, subject: str, **issue: Any) -> dict:
        """An issue in `support` made through the REST API by `login`."""
        doc = {
            "issue": {
                "project_id": "support",
                "tracker_id": 3,
                "subject": subject,
                "description": "Since the update the program closes at once.",
                **issue,
            }
        }
        return self.rm.api("POST", "/issues.json", doc, expect=201, key=self.as_user(login))["issue"]

    def custom_fields(self, **values: str) -> list[dict]:
        """`custom_fields` members by our field names."""
        return [{"id": self.rm.custom_fields[k], "value": v} for k, v in values.items()]

    def issue(self, issue_id: int) -> dict:
        """The issue now, with its journals, as the connector's administrator sees it."""
        return self.rm.api("GET", f"/issues/{issue_id}.json?include=journals")["issue"]

    def events(self, issue_id: int) -> list[StoredEvent]:
        """The connector's stored events of an issue, oldest first."""
        return sorted(
            (
                e
                for e in EventStore(self.engine).list(limit=100000)
                if e.platform == "redmine" and e.ticket_id == str(issue_id)
            ),
            key=lambda e: e.id,
        )

    def wait_done(self, issue_id: int, count: int, timeout: float = WAIT) -> list[StoredEvent]:
        """Wait until `count` events of the issue are settled (done or failed); them."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            events = self.events(issue_id)
            if len(events) >= count and all(e.status in ("done", "failed") for e in events):
                return events
            time.sleep(0.1)
        raise AssertionError(
            f"issue {issue_id}: {count} event(s) not processed within {timeout:g} s: "
            f"{[(e.kind, e.status, e.last_error) for e in self.events(issue_id)]}\n"
            + (self.serve_log.read_text()[-3000:] if self.serve_log else "")
        )

    def group_members(self) -> set[str]:
        """Logins in the KB group."""
        group = self.rm.api("GET", f"/groups/{self.rm.kb_group_id}.json?include=users")["group"]
        ids = {u["id"] for u in group["users"]}
        return {login for login, u in self.users.items() if u["id"] in ids}


def _workdir(request, tmp_path_factory) -> Path:
    cache = getattr(request.config, "cache", None)
    return Path(cache.mkdir("redmine")) if cache is not None else tmp_path_factory.mktemp("redmine")


def _serve(config: Path, env: dict[str, str], log: Path, url: str) -> subprocess.Popen:
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "connector", "serve", "--config", str(config)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + SERVE_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"connector serve exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if requests.get(f"{url}/healthz", timeout=1).status_code == 200:
                return proc
        except requests.RequestException:
            pass
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"connector serve did not answer within {SERVE_TIMEOUT:g} s:\n{log.read_text()[-3000:]}")


def _stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


@pytest.fixture(scope="session")
def redmine_live(request, tmp_path_factory) -> Iterator[RedmineLive]:
    """Redmine 5 with our plugin calling a real `connector serve` (see the module docstring)."""
    missing = redmine_missing()
    if missing:
        reason = "Redmine 5 is not installed here: " + "; ".join(missing)
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    tmp = tmp_path_factory.mktemp("redmine-live")
    port, secret = free_port(), new_secret()
    connector_url = f"http://127.0.0.1:{port}"
    # the plugin waits up to 5 s for the connector (default 2): a loaded CI machine must not lose a delivery
    rm = start_redmine(
        _workdir(request, tmp_path_factory),
        f"{connector_url}/webhooks/redmine",
        secret,
        projects="support",
        webhook_timeout=5.0,
    )
    proc = None
    try:
        users = {
            login: rm.create_user(login, mail=mail, firstname=first, lastname=last, role=role)
            for login, (first, last, mail, role) in USERS.items()
        }
        database_url = f"sqlite:///{tmp / 'connector.db'}"
        engine = open_database(database_url)
        (tmp / "registry.json").write_text(json.dumps(registry(date.today())))
        import_registry(tmp / "registry.json", engine)
        config = tmp / "connector.toml"
        config.write_text(config_text(rm, port, database_url))
        env = {**os.environ, "LIVE_REDMINE_WEBHOOK_SECRET": secret, "LIVE_REDMINE_API_KEY": rm.api_key}
        log = tmp / "serve.log"
        proc = _serve(config, env, log, connector_url)
        yield RedmineLive(rm, connector_url, config, env, engine, secret, users, log)
        engine.dispose()
    finally:
        if proc is not None:
            _stop(proc)
        rm.stop()
        shutil.rmtree(rm.instance_dir, ignore_errors=True)  # the template cache stays
