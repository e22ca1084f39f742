"""A stub Zendesk on loopback, in a process of its own, for the scale-out test and the benchmarks.

It serves the three calls the pipeline makes per ticket (the ticket with its users, its audits,
the PUT), and the few the per-ticket KB and portal step makes (user search, Add Tags, the
organisation and its memberships), shaped as tests/fixtures/zendesk/api documents them, and
*applies* each write: a PUT to the
ticket it keeps (custom fields, tags, internal notes), so a redundant write shows, and the final
fields can be checked. Every request is logged with its ticket, method, start and end (monotonic
seconds) and its `X-Connector-Event` header (the event whose lease it was made in): `GET /_log`.

Faults follow a plan of phases, seconds after the first call made for an event once the plan is
given by `POST /_start` (so that they meet workers at work; a JSON list of
`{"from": s, "to": s, "fault": "429" | "503" | "timeout" | "down"}`): a 429 with Retry-After: 1,
a 503, an answer slower than the client's timeout, or the listening socket closed (connection
refused) until the phase ends. The stub stops by itself after `--lifetime` seconds.

    python -m tests.support.stub_platform PORT [--lifetime 600]
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote_plus

API = Path(__file__).resolve().parents[1] / "fixtures" / "zendesk" / "api"
TICKET = re.compile(r"^/api/v2/tickets/(\d+)(/audits)?\.json")
USER = re.compile(r"^/api/v2/users/(\d+)/(tags|organization_memberships)")
ORGANISATION = {"id": 4001, "name": "Stroyproekt", "external_id": "C-SP"}
# The Zendesk custom field ids the stub's tickets carry, as a connector config names them
FIELDS = {
    "tier": "360001",
    "first_response_due": "360002",
    "resolution_due": "360003",
    "product": "360004",
    "request_type": "360005",
    "topic": "360006",
}
CONNECTOR_FIELDS = (FIELDS["tier"], FIELDS["first_response_due"], FIELDS["resolution_due"])  # what it writes


class State:
    """Tickets, the request log and the fault plan, shared by the handler threads."""

    def __init__(self) -> None:
        doc = json.loads((API / "ticket_123.json").read_text(encoding="utf-8"))
        for field in doc["ticket"]["custom_fields"]:  # the connector has written nothing yet
            if str(field["id"]) in CONNECTOR_FIELDS:
                field["value"] = None
        doc["ticket"]["tags"] = [t for t in doc["ticket"].get("tags", []) if not t.startswith("sla_")]
        self.template = doc
        audits = json.loads((API / "ticket_123_audits.json").read_text(encoding="utf-8"))
        audits["meta"] = {"has_more": False, "after_cursor": None, "before_cursor": None}
        self.audits = json.dumps(audits).encode()
        self.tickets: dict[str, dict] = {}
        self.users = {u["id"]: {**u, "tags": list(u.get("tags") or [])} for u in doc.get("users", [])}
        self.memberships: set[tuple[int, int]] = set()
        self.notes: dict[str, int] = {}
        self.log: list[list] = []
        self.plan: list[dict] = []
        self.started: float | None = None
        self.armed = False
        self.lock = threading.Lock()

    def ticket(self, ticket_id: str) -> dict:
        if ticket_id not in self.tickets:
            doc = copy.deepcopy(self.template)
            doc["ticket"]["id"] = int(ticket_id)
            self.tickets[ticket_id] = doc
        return self.tickets[ticket_id]

    def fault(self) -> str | None:
        if self.started is None:
            return None
        elapsed = time.monotonic() - self.started
        return next((p["fault"] for p in self.plan if p["from"] <= elapsed < p["to"]), None)

    def apply(self, ticket_id: str, update: dict) -> None:
        """A PUT as Zendesk applies it: custom fields set, tags added and removed, a comment kept."""
        ticket = self.ticket(ticket_id)["ticket"]
        for change in update.get("custom_fields") or []:
            for field in ticket["custom_fields"]:
                if field["id"] == change["id"]:
                    field["value"] = change["value"]
        tags = set(ticket.get("tags") or [])
        tags |= set(update.get("additional_tags") or [])
        tags -= set(update.get("remove_tags") or [])
        ticket["tags"] = sorted(tags)
        if update.get("assignee_id"):
            ticket["assignee_id"] = update["assignee_id"]
        comment = update.get("comment")
        if comment and comment.get("public") is False:
            self.notes[ticket_id] = self.notes.get(ticket_id, 0) + 1


STATE = State()


class Handler(BaseHTTPRequestHandler):
    """One request: the ticket API, the log, the start of the fault plan."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go in two writes: without it each answer waits ~40 ms

    def log_message(self, *_args) -> None:  # no access log on stderr
        pass

    def _send(self, status: int, body: bytes, headers: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def do_GET(self) -> None:
        if self.path == "/_log":
            with STATE.lock:
                body = json.dumps(
                    {
                        "log": STATE.log,
                        "notes": STATE.notes,
                        "started": STATE.started,
                        "tickets": {k: v["ticket"] for k, v in STATE.tickets.items()},
                    }
                ).encode()
            return self._send(200, body)
        self._api("GET", b"")

    def do_PUT(self) -> None:
        self._api("PUT", self._body())

    def do_POST(self) -> None:
        body = self._body()
        if self.path != "/_start":
            return self._api("POST", body)
        with STATE.lock:
            STATE.plan, STATE.armed = json.loads(body or b"[]"), True
        self._send(200, b"{}")

    def _people(self, method: str, body: bytes) -> bool:
        """The user and organisation calls of the KB and portal step; False for another path."""
        path, query = self.path.split("?", 1) if "?" in self.path else (self.path, "")
        user = USER.match(path)
        with STATE.lock:
            if path == "/api/v2/users/search.json" or path == "/api/v2/users/search":
                wanted = {
                    t.removeprefix("email:").lower()
                    for t in unquote_plus(query).split("query=")[-1].split("&")[0].split()
                    if t.startswith("email:")
                }
                answer = {"users": [u for u in STATE.users.values() if u["email"] in wanted], "next_page": None}
            elif user and user.group(2) == "tags" and method == "PUT":
                record = STATE.users[int(user.group(1))]
                record["tags"] = sorted(set(record["tags"]) | set(json.loads(body)["tags"]))
                answer = {"tags": record["tags"]}
            elif user and method == "GET":
                answer = {
                    "organization_memberships": [
                        {"user_id": u, "organization_id": o} for u, o in STATE.memberships if u == int(user.group(1))
                    ]
                }
            elif path.startswith("/api/v2/organizations/search"):
                answer = {"organizations": [ORGANISATION]}
            elif path == "/api/v2/organization_memberships" and method == "POST":
                given = json.loads(body)["organization_membership"]
                STATE.memberships.add((given["user_id"], given["organization_id"]))
                answer = {"organization_membership": given}
            else:
                return False
            STATE.log.append(
                [
                    None,
                    path.rsplit("/", 1)[-1],
                    200,
                    time.monotonic(),
                    time.monotonic(),
                    self.headers.get("X-Connector-Event"),
                ]
            )
        self._send(200, json.dumps(answer).encode())
        return True

    def _api(self, method: str, body: bytes) -> None:
        started = time.monotonic()
        match = TICKET.match(self.path)
        if not match:
            if not self._people(method, body):
                self._send(404, b'{"error": "InvalidEndpoint"}')
            return
        ticket_id, audits = match.group(1), bool(match.group(2))
        if STATE.armed and STATE.started is None and self.headers.get("X-Connector-Event"):
            with STATE.lock:
                STATE.started = STATE.started or time.monotonic()
        fault = STATE.fault()
        status = 200
        if fault == "down":  # a connection kept alive from before: cut it, as a dying server would
            self.close_connection = True
            return
        if fault == "429":
            status = 429
            self._send(429, b'{"error": "APIRateLimitExceeded"}', {"Retry-After": "1"})
        elif fault == "503":
            status = 503
            self._send(503, b'{"error": "ServiceUnavailable"}')
        elif fault == "timeout":
            status = 0
            time.sleep(1.5)  # longer than the client's timeout in the test (1 s): it gives up first
            self.close_connection = True  # nobody reads the answer any more
        else:
            with STATE.lock:
                if method == "PUT":
                    STATE.apply(ticket_id, json.loads(body).get("ticket") or {})
                answer = STATE.audits if audits else json.dumps(STATE.ticket(ticket_id)).encode()
            self._send(200, answer)
        kind = "audits" if audits else ("put" if method == "PUT" else "ticket")
        with STATE.lock:
            STATE.log.append(
                [ticket_id, kind, status, started, time.monotonic(), self.headers.get("X-Connector-Event")]
            )


def serve(port: int, lifetime: float) -> None:
    """Serve until `lifetime` has passed; during a "down" phase nobody listens on the port."""
    deadline = time.monotonic() + lifetime
    while time.monotonic() < deadline:
        if STATE.fault() == "down":
            time.sleep(0.05)
            continue
        ThreadingHTTPServer.allow_reuse_address = True
        server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        server.daemon_threads = True
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        while time.monotonic() < deadline and STATE.fault() != "down":
            time.sleep(0.05)
        server.shutdown()
        server.server_close()  # connection refused from now on, until the phase ends


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("port", type=int)
    parser.add_argument("--lifetime", type=float, default=600.0)
    args = parser.parse_args()
    serve(args.port, args.lifetime)
