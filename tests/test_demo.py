"""`make run` as a newcomer runs it: examples/demo.py (what `make run` starts) in a subprocess on
free loopback ports, its state and secrets in the test's folders. Log in to the real
django-helpdesk as ann@alpha.example with the password it prints, create a ticket through the
helpdesk's own web form, and see the connector fill the ticket's tier and due dates; Ctrl-C
stops both servers; a second start reuses the state and is fast. Every wait has a deadline."""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from tests.support.helpdesk_scenario import require_helpdesk
from tests.support.net import free_port

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "examples" / "demo.py"
READY_TIMEOUT = 60.0  # seconds from start to "ready" (a first run migrates the helpdesk: ~4 s here)
FILLED_TIMEOUT = 15.0  # seconds for the connector to write the ticket back (under a second here)
STOP_TIMEOUT = 20.0  # seconds for Ctrl-C to end the demo and both servers
SECRET_FILES = (
    "admin-token",
    "django-helpdesk-webhook-secret",
    "django-helpdesk-api-token",
    "demo-helpdesk-secret-key",
)  # never printed (demo-password is: a local demo account)


class Run:
    """One `examples/demo.py` process: its output line by line, as it comes."""

    def __init__(self, state: Path, secrets: Path, helpdesk_port: int, connector_port: int) -> None:
        self.started = time.monotonic()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("HELPDESK_", "CONNECTOR_"))}
        self.proc = subprocess.Popen(
            [
                sys.executable,
                str(DEMO),
                "--state",
                str(state),
                "--secrets",
                str(secrets),
                "--helpdesk-port",
                str(helpdesk_port),
                "--connector-port",
                str(connector_port),
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self._fresh: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.ready_in: float | None = None
        self.children: list[int] = []

    def _read(self) -> None:
        for line in self.proc.stdout:
            self._fresh.put(line.rstrip("\n"))
        self._fresh.put(None)

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_for(self, pattern: str, timeout: float) -> re.Match:
        """The first line (from now on, or already read) matching `pattern`, within `timeout` s."""
        for line in self.lines:
            if m := re.search(pattern, line):
                return m
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self._fresh.get(timeout=left)
            except queue.Empty:
                break
            if line is None:
                pytest.fail(f"the demo exited ({self.proc.wait(5)}) before {pattern!r}:\n{self.output}")
            self.lines.append(line)
            if m := re.search(pattern, line):
                return m
        pytest.fail(f"no {pattern!r} from the demo within {timeout:g} s:\n{self.output}")

    def wait_ready(self) -> None:
        self.wait_for(r"^Tickets the connector processes are listed below", READY_TIMEOUT)
        self.ready_in = time.monotonic() - self.started
        path = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")  # Linux: the two servers
        self.children = [int(p) for p in path.read_text().split()] if path.exists() else []

    def interrupt(self) -> float:
        """Ctrl-C (SIGINT, as a terminal sends it to `make run`); seconds until the demo exited."""
        if self.proc.poll() is not None:
            return 0.0
        started = time.monotonic()
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait(timeout=STOP_TIMEOUT)
        took = time.monotonic() - started
        self.wait_for(r"^demo: stopped", 5)
        return took

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


@pytest.fixture(scope="module")
def places(tmp_path_factory) -> dict:
    """The state and secrets folders and ports both runs share."""
    require_helpdesk()
    base = tmp_path_factory.mktemp("demo")
    return {
        "state": base / "state",
        "secrets": base / "secrets",
        "helpdesk_port": free_port(),
        "connector_port": free_port(),
    }


@pytest.fixture(scope="module")
def first_run(places):
    """The demo's first run (nothing set up yet), ready; stopped at the end whatever happens."""
    run = Run(**places)
    try:
        run.wait_ready()
        yield run
    finally:
        try:
            run.interrupt()
        finally:
            run.kill()


def banner(run: Run) -> dict:
    """What the demo told the reader to open and do."""
    login = run.wait_for(r"Log in at (http://127\.0\.0\.1:\d+)/login/ as (\S+), password (\S+)$", 1)
    staff = run.wait_for(r"Log in as (\S+) \(staff, same password\)", 1)
    status = run.wait_for(r"status page: (http://127\.0\.0\.1:\d+)/ \(log in with the admin token in (\S+)\)", 1)
    return {
        "helpdesk": login[1],
        "email": login[2],
        "password": login[3],
        "staff": staff[1],
        "connector": status[1],
        "token_file": status[2],
    }


def log_in(base: str, username: str, password: str) -> requests.Session:
    """A browser-like session through the helpdesk's login page."""
    browser = requests.Session()
    browser.get(f"{base}/login/", timeout=15)
    r = browser.post(
        f"{base}/login/",
        timeout=15,
        allow_redirects=False,
        headers={"Referer": f"{base}/login/"},
        data={
            "username": username,
            "password": password,
            "next": "/",
            "csrfmiddlewaretoken": browser.cookies["csrftoken"],
        },
    )
    assert r.status_code == 302 and "sessionid" in browser.cookies, f"{username} cannot log in: {r.status_code}"
    return browser


def test_first_run_sets_up_and_says_what_to_do(first_run, places):
    told = banner(first_run)
    assert "demo: setting up django-helpdesk" in first_run.output
    assert told["email"] == "ann@alpha.example" and told["staff"] == "engineer"
    assert told["helpdesk"] == f"http://127.0.0.1:{places['helpdesk_port']}"
    assert told["connector"] == f"http://127.0.0.1:{places['connector_port']}"
    assert Path(told["token_file"]) == places["secrets"] / "admin-token"
    assert requests.get(f"{told['connector']}/login", timeout=5).status_code == 200  # the status page is on
    for name in SECRET_FILES:  # made at random, private, and never printed
        path = places["secrets"] / name
        assert path.stat().st_mode & 0o777 == 0o600
        assert path.read_text().strip() not in first_run.output
    config = (places["state"] / "connector.toml").read_text()
    assert "dry_run = false" in config and f"http://127.0.0.1:{places['helpdesk_port']}" in config
    assert str(places["secrets"] / "django-helpdesk-api-token") in config  # the path, not the token


def test_ann_creates_a_ticket_and_the_connector_fills_tier_and_due_dates(first_run):
    told = banner(first_run)
    base = told["helpdesk"]
    ann = log_in(base, told["email"], told["password"])
    form = ann.get(f"{base}/", timeout=15).text  # the helpdesk's "submit a ticket" page
    queues = dict(
        (name, value)
        for value, name in re.findall(
            r'<option value="(\d+)"[^>]*>([^<]+)</option>',
            re.search(r'<select name="queue".*?</select>', form, re.S)[0],
        )
    )
    assert 'value="ann@alpha.example"' in form  # her e-mail is the submitter's
    answer = ann.post(
        f"{base}/",
        timeout=15,
        allow_redirects=False,
        headers={"Referer": f"{base}/"},
        data={
            "csrfmiddlewaretoken": ann.cookies["csrftoken"],
            "queue": queues["Support"],
            "priority": "3",
            "title": "KOMPAS-3D closes on start",
            "body": "Since the update it closes at once.",
            "submitter_email": "ann@alpha.example",
            "custom_product": "KOMPAS",
            "custom_request_type": "error",
        },
    )
    assert answer.status_code == 302, answer.text[-2000:]
    her_page = answer.headers["Location"]  # /view/?ticket=support-N&email=...&key=...
    ticket_id = re.search(r"ticket=[\w-]*?-(\d+)&", her_page)[1]
    engineer = log_in(base, told["staff"], told["password"])  # staff: sees the staff-only fields
    deadline = time.monotonic() + FILLED_TIMEOUT
    while True:
        doc = engineer.get(f"{base}/api/tickets/{ticket_id}/", timeout=15).json()
        if doc.get("custom_tier") or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert doc["custom_tier"] == "warranty", doc  # ann's update package of 2026-09-01 (examples/registry.json)
    assert doc["custom_first_response_due"] and doc["custom_resolution_due"] and doc["due_date"], doc
    assert doc["custom_first_response_due"] < doc["custom_resolution_due"]
    assert "Due On" in ann.get(f"{base}{her_page}", timeout=15).text  # she sees the resolution due
    assert "Support tier: warranty" in engineer.get(f"{base}/tickets/{ticket_id}/", timeout=15).text  # the note
    first_run.wait_for(
        rf"^demo: ticket {ticket_id}: tier warranty, first response due \S+, resolution due \S+", FILLED_TIMEOUT
    )


def test_ctrl_c_stops_both_servers(first_run, places):
    assert len(first_run.children) == 2 or not Path("/proc/self/task").exists()
    took = first_run.interrupt()
    assert first_run.proc.returncode == 0, first_run.output
    assert "demo: stopped helpdesk (exit 0), connector (exit 0)" in first_run.output
    assert took < 10, f"Ctrl-C took {took:.1f} s"
    for pid in first_run.children:
        assert not Path(f"/proc/{pid}").exists(), f"process {pid} is still there"
    for port in (places["helpdesk_port"], places["connector_port"]):
        with socket.socket() as s:
            s.bind(("127.0.0.1", port))  # nothing listens there any more


def test_a_second_run_reuses_the_state(first_run, places):
    first_run.interrupt()  # the first run is over (when this test runs alone too)
    second = Run(**places)
    try:
        second.wait_ready()
        told = banner(second)
        assert "setting up" not in second.output and "demo: made" not in second.output  # nothing made again
        assert told["password"] == banner(first_run)["password"]
        log_in(told["helpdesk"], told["email"], told["password"])
        # the seed is skipped (above); the rest is starting two servers (~1.5 s here, first run ~4 s)
        assert second.ready_in < 15, f"first run ready in {first_run.ready_in:.1f} s, second in {second.ready_in:.1f} s"
        assert second.interrupt() < 10 and second.proc.returncode == 0
    finally:
        second.kill()
