"""End to end for Jira Service Management and Freshdesk: a real `connector serve` process (waitress,
its workers, the TOML config with secrets from the environment and files) receives each platform's
documented, signed delivery byte for byte over loopback, reads the ticket from a loopback stand-in
for the platform's API (tests/support/stub_api.py: every request checked exactly, in order) and
makes exactly the write-back requests; a 429 on Jira's write is waited out for its Retry-After and
the write then lands. Bounded: every wait has a deadline."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.support.contract import contract, delivery
from tests.support.net import free_port
from tests.support.stub_api import StubApi

JSM, FD = contract("jira-service-management"), contract("freshdesk")
DEADLINE = 60.0
NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def script(stub: StubApi, spec: dict, calls: list[dict]) -> None:
    """The contract's calls of a ticket, as the stand-in's script."""
    for call in calls:
        answer = call.get("json")
        if call.get("answer"):
            answer = json.loads((spec["folder"] / call["answer"]).read_text(encoding="utf-8"))
        stub.expect(
            call["method"],
            call["path"],
            call.get("query"),
            body=call.get("body"),
            status=call.get("status", 200),
            answer=answer,
            headers=call.get("headers", {}),
        )


def registry(tmp_path: Path) -> Path:
    """Both platforms' fixture registries as one (the same customers, each platform's ids)."""
    jsm = json.loads((JSM["folder"] / "registry.json").read_text(encoding="utf-8"))
    fd = json.loads((FD["folder"] / "registry.json").read_text(encoding="utf-8"))
    ids = {c["id"]: c.get("platform_ids", {}) for c in fd["customers"]}
    for customer in jsm["customers"]:
        customer["platform_ids"] = {**customer.get("platform_ids", {}), **ids.get(customer["id"], {})}
    path = tmp_path / "registry.json"
    path.write_text(json.dumps(jsm), encoding="utf-8")
    return path


def config(tmp_path: Path, port: int, jira: StubApi, freshdesk: StubApi) -> Path:
    (tmp_path / "jsm-token").write_text(JSM["settings"]["credentials"]["api_token"] + "\n")
    (tmp_path / "fd-key").write_text(FD["settings"]["credentials"]["api_key"] + "\n")
    fields = lambda spec: "\n".join(f'{k} = "{v}"' for k, v in spec["settings"]["fields"].items())  # noqa: E731
    path = tmp_path / "connector.toml"
    path.write_text(
        f"""
database_url = "sqlite:///{tmp_path / "connector.db"}"
[server]
port = {port}
[worker]
threads = 2
poll_seconds = 0.1
[access]
kb = false
register_portal_users = false
[alerts]
enabled = false

[platforms.jira-service-management]
base_url = "{jira.base_url}"
webhook_secret_env = "E2E_JSM_SECRET"
[platforms.jira-service-management.credentials]
email = "{JSM["settings"]["credentials"]["email"]}"
api_token_file = "{tmp_path / "jsm-token"}"
[platforms.jira-service-management.fields]
{fields(JSM)}

[platforms.freshdesk]
base_url = "{freshdesk.base_url}"
webhook_secret_env = "E2E_FD_SECRET"
[platforms.freshdesk.credentials]
api_key_file = "{tmp_path / "fd-key"}"
[platforms.freshdesk.fields]
{fields(FD)}
""",
        encoding="utf-8",
    )
    return path


def wait_for(what: str, ready, process: subprocess.Popen, log: Path) -> None:
    """Poll `ready()` until true, the process dies or the deadline passes."""
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"connector serve exited ({process.returncode}) before {what}:\n{log.read_text()}")
        try:
            if ready():
                return
        except OSError:
            pass
        time.sleep(0.1)
    pytest.fail(f"no {what} within {DEADLINE:g} s:\n{log.read_text()}")


def get(url: str) -> dict:
    with NO_PROXY.open(url, timeout=5) as answer:
        return json.loads(answer.read())


def post(url: str, headers: dict, body: bytes) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    with NO_PROXY.open(request, timeout=5) as answer:
        return answer.status, json.loads(answer.read())


def test_signed_deliveries_end_in_exactly_the_write_back_requests(tmp_path):
    jira, freshdesk = StubApi(JSM["request_headers"]["Authorization"]), StubApi(FD["request_headers"]["Authorization"])
    jsm_case, fd_case = JSM["tickets"]["SUP-123"], FD["tickets"]["123"]
    rate = json.loads((JSM["folder"] / "api" / "error_429.headers.json").read_text(encoding="utf-8"))
    script(jira, JSM, jsm_case["reads"])
    script(jira, JSM, [{**jsm_case["writes"][0], "status": 429, "headers": {**rate, "retry-after": "1"}}])
    script(jira, JSM, jsm_case["reads"] + jsm_case["writes"])  # the worker tries again 1 s later
    script(freshdesk, FD, fd_case["reads"] + fd_case["writes"])
    port = free_port()
    path = config(tmp_path, port, jira, freshdesk)
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env.update(
        E2E_JSM_SECRET=JSM["settings"]["webhook_secret"],
        E2E_FD_SECRET=FD["settings"]["webhook_secret"],
        NO_PROXY="127.0.0.1,localhost",
    )
    connector = [sys.executable, "-m", "connector"]
    database = f"sqlite:///{tmp_path / 'connector.db'}"
    subprocess.run(
        [*connector, "import", str(registry(tmp_path)), "--database", database],
        check=True,
        capture_output=True,
        env=env,
        timeout=60,
    )
    log = tmp_path / "serve.log"
    with jira, freshdesk, log.open("w") as out:
        process = subprocess.Popen(
            [*connector, "serve", "--config", str(path)], stdout=out, stderr=subprocess.STDOUT, env=env
        )
        try:
            base = f"http://127.0.0.1:{port}"
            wait_for("a listening connector", lambda: get(f"{base}/healthz")["status"] == "ok", process, log)
            for spec, name, platform in (
                (JSM, "jira_issue_created", "jira-service-management"),
                (FD, "ticket_created", "freshdesk"),
            ):
                headers, body = delivery(spec["folder"], name)
                status, answer = post(f"{base}/webhooks/{platform}", headers, body)
                assert status == 202 and answer["status"] == "accepted", answer
            wait_for(
                "every scripted API request",
                lambda: (jira.done and freshdesk.done) or jira.errors or freshdesk.errors,
                process,
                log,
            )
            assert jira.errors == [] and freshdesk.errors == [], log.read_text()
            backlog = lambda: get(f"{base}/healthz")["events"]  # noqa: E731 - pending, processing, failed
            wait_for(
                "both events done", lambda: backlog() == {"pending": 0, "processing": 0, "failed": 0}, process, log
            )
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
    text = log.read_text()
    assert "rate limited" in text and "retry in" in text  # the 429 was seen and rescheduled
    assert JSM["settings"]["webhook_secret"] not in text and FD["settings"]["webhook_secret"] not in text
