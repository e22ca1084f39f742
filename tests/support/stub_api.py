"""A loopback HTTP server standing in for a SaaS platform's API in end-to-end tests, where the
connector runs as a real `connector serve` process that `responses` cannot reach.

It holds an ordered script of expected requests and checks each one that arrives exactly: method,
path, query, the auth header and, for writes, the JSON body. An expected request gets its scripted
answer; anything else gets a 500 and is recorded as an error, so a test sees every deviation.

    stub = StubApi(auth="Basic ...")
    stub.expect("GET", "/rest/api/3/issue/SUP-123", {"expand": "changelog"}, answer={...})
    with stub:                      # serves on 127.0.0.1:<stub.port> until the block ends
        ...
    assert stub.errors == [] and stub.done
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit


@dataclass
class Expected:
    """One scripted request and its answer."""

    method: str
    path: str
    query: dict[str, str] = field(default_factory=dict)
    body: Any = None  # the exact JSON a write must send (None: not checked, a read)
    status: int = 200
    answer: Any = None  # JSON to answer with (None: an empty body)
    headers: dict[str, str] = field(default_factory=dict)


class StubApi:
    """The scripted stand-in (see the module docstring)."""

    def __init__(self, auth: str) -> None:
        self.auth = auth
        self.script: list[Expected] = []
        self.seen = 0
        self.errors: list[str] = []
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, name="stub-api", daemon=True)

    @property
    def base_url(self) -> str:
        """Where the connector finds this platform."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def done(self) -> bool:
        """Whether every scripted request has arrived."""
        with self.lock:
            return self.seen == len(self.script)

    def expect(self, method: str, path: str, query: dict | None = None, **kwargs: Any) -> None:
        """Append one expected request to the script."""
        self.script.append(Expected(method, path, dict(query or {}), **kwargs))

    def __enter__(self) -> StubApi:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _check(self, method: str, target: str, headers: Any, raw: bytes) -> Expected | None:
        """The scripted request this one is, or None (recorded as an error)."""
        url = urlsplit(target)
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        with self.lock:
            if self.seen >= len(self.script):
                self.errors.append(f"unexpected {method} {target} (the script is done)")
                return None
            want = self.script[self.seen]
            problems = []
            if (method, url.path, query) != (want.method, want.path, want.query):
                problems.append(f"expected {want.method} {want.path} {want.query}")
            if headers.get("Authorization") != self.auth:
                problems.append("wrong or missing Authorization")
            if want.body is not None:
                try:
                    sent = json.loads(raw or b"null")
                except ValueError:
                    sent = raw.decode("utf-8", "replace")
                if sent != want.body:
                    problems.append(f"body {sent!r} is not {want.body!r}")
            if problems:
                self.errors.append(f"request {self.seen + 1}, {method} {target}: " + "; ".join(problems))
                return None
            self.seen += 1
            return want

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        """The request handler class, bound to this stub."""
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                """Check the request against the script; answer as scripted, else 500."""
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                want = stub._check(self.command, self.path, self.headers, raw)
                status, answer, extra = (
                    (500, {"error": "not in the script"}, {})
                    if want is None
                    else (want.status, want.answer, want.headers)
                )
                body = b"" if answer is None else json.dumps(answer).encode()
                self.send_response(status)
                for name, value in {"Content-Type": "application/json", **extra}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_PUT = do_POST = do_DELETE = _serve

            def log_message(self, *_: object) -> None:  # quiet: the test reports what matters
                pass

        return Handler
