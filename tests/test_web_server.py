"""The server `connector serve` runs (waitress), for real on loopback: a body over the limit is a
JSON 413 whether it is announced by Content-Length or sent chunked, a chunked body is measured by
its content (one just under the limit is accepted), and waitress's own refusals are JSON too."""

from __future__ import annotations

import json
import socket
import threading
import uuid

import pytest
import requests

from connector.storage.events import EventStore
from connector.web import create_app
from connector.web.server import create_server
from tests.support.zendesk import SECRET, fixture, signed

LIMIT = 64 * 1024


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """The real app on SQLite behind the real server, on a free loopback port."""
    folder = tmp_path_factory.mktemp("served")
    app = create_app(
        test_config={
            "database_url": f"sqlite:///{folder / 'c.db'}",
            "server": {"max_body_bytes": LIMIT},
            "platforms": {
                "zendesk": {
                    "base_url": "https://acme.zendesk.com",
                    "webhook_secret": SECRET,
                    "credentials": {"email": "a@acme.example", "api_token": "t"},
                }
            },
        }
    )
    server = create_server(app, "127.0.0.1", 0, 4, LIMIT)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.effective_port}", app
    server.close()
    app.extensions["connector"].close()


def padded(size: int) -> bytes:
    """The ticket_created fixture grown to exactly `size` bytes."""
    _, body = fixture("ticket_created")
    doc = json.loads(body)
    doc["id"] = str(uuid.uuid4())  # a new delivery each time
    doc["padding"] = ""
    base = len(json.dumps(doc).encode())
    doc["padding"] = "x" * (size - base)
    out = json.dumps(doc).encode()
    assert len(out) == size
    return out


def chunks(body: bytes, size: int):
    for i in range(0, len(body), size):
        yield body[i : i + size]


def headers_for(body: bytes) -> dict:
    headers, _ = fixture("ticket_created")
    headers = {
        k: v for k, v in headers.items() if k.lower() not in ("content-length", "x-zendesk-webhook-invocation-id")
    }
    return signed(headers, body)


def test_a_chunked_body_just_under_the_limit_is_accepted(served):
    url, app = served
    body = padded(LIMIT - 10)
    answer = requests.post(f"{url}/webhooks/zendesk", data=chunks(body, 1000), headers=headers_for(body), timeout=10)
    assert answer.status_code == 202, answer.text
    assert EventStore(app.extensions["connector"].engine).get(answer.json()["event_id"]).body == body


@pytest.mark.parametrize("chunked", [False, True])
def test_a_body_over_the_limit_is_a_json_413(served, chunked):
    url, _ = served
    body = padded(LIMIT + 100)
    data = chunks(body, 4096) if chunked else body
    answer = requests.post(f"{url}/webhooks/zendesk", data=data, headers=headers_for(body), timeout=10)
    assert answer.status_code == 413
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.json() == {"error": f"body of {LIMIT + 100} bytes is over the limit of {LIMIT}"}


def test_a_body_far_over_the_limit_meets_waitress_and_is_json_too(served):
    url, _ = served
    body = b"{" + b" " * (3 * LIMIT) + b"}"
    answer = requests.post(
        f"{url}/webhooks/zendesk", data=body, timeout=10, headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 413 and answer.json() == {"error": f"body is over the limit of {LIMIT} bytes"}


def test_a_malformed_request_is_a_json_400(served):
    url, _ = served
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(b"POST /webhooks/zendesk HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")
        received = b""
        while chunk := conn.recv(65536):  # the server closes the connection after an error answer
            received += chunk
        answer = received.decode()
    status, _, rest = answer.partition("\r\n")
    assert status.startswith("HTTP/1.1 400") and "application/json" in rest
    assert json.loads(rest.split("\r\n\r\n", 1)[1])["error"]


def test_health_answers_while_served(served):
    url, _ = served
    health = requests.get(f"{url}/healthz", timeout=10).json()
    assert health["status"] == "ok" and set(health["events"]) == {"pending", "processing", "failed"}
