"""The WSGI server `connector serve` runs: waitress, with its own refusals answered in JSON.

waitress refuses some requests before the app sees them (a body over its limit, a malformed
request line or chunk); it answers those in plain text. The connector's API promises a JSON body
naming the problem for every 4xx, so the server's error task is replaced by one that writes JSON.

The body limit is the app's (`server.max_body_bytes`), measured on the content: a chunked body
reaches the app de-chunked with its real length, which the app checks (413 in JSON, before
reading it). waitress counts a chunked body's framing too (chunk sizes, CRLFs), so its own limit
is set above the app's by a margin for that framing; only a body far over the app's limit meets
waitress's refusal, in JSON as well.
"""

from __future__ import annotations

import json
from typing import Any

import waitress
from waitress.channel import HTTPChannel
from waitress.server import BaseWSGIServer
from waitress.task import ErrorTask

FRAMING = 2  # waitress may buffer this many times the limit of a chunked body, framing included
FRAMING_SLACK = 64 * 1024


def _error_task(limit: int) -> type[ErrorTask]:
    class JsonErrorTask(ErrorTask):
        """waitress's error answer, as the JSON every other refusal has."""

        def execute(self) -> None:
            error = self.request.error
            message = (
                f"body is over the limit of {limit} bytes"
                if error.code == 413
                else f"{error.reason}: {error.body}".strip(": ")
            )
            body = json.dumps({"error": message}).encode()
            self.status = f"{error.code} {error.reason}"
            self.response_headers.append(("Content-Type", "application/json"))
            self.set_close_on_finish()
            self.content_length = len(body)
            self.write(body)

    return JsonErrorTask


def create_server(app: Any, host: str, port: int, threads: int, max_body_bytes: int) -> Any:
    """A waitress server for `app` on host:port whose own refusals are JSON."""
    server = waitress.create_server(
        app,
        host=host,
        port=port,
        threads=threads,
        ident="connector",
        max_request_body_size=max_body_bytes * FRAMING + FRAMING_SLACK,
    )
    channel = type("JsonErrorChannel", (HTTPChannel,), {"error_task_class": _error_task(max_body_bytes)})
    listeners = (
        [server]
        if isinstance(server, BaseWSGIServer)
        else [s for s in getattr(server, "map", {}).values() if isinstance(s, BaseWSGIServer)]
    )
    for listener in listeners:
        listener.channel_class = channel
    return server
