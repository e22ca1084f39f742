"""The generic tracker's API client: the shared `PlatformClient` with headers rendered from the
mapping's templates, HTTP basic auth, or a login session (GLPI's `initSession`): the token
comes from a login call, goes into the headers that name {session}, and is renewed once when a
call answers 401 (sessions expire on the tracker's side).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from connector.core.errors import PlatformRejected
from connector.platforms.client import PlatformClient
from connector.platforms.generic.mapping import Session, TrackerMapping
from connector.platforms.generic.sources import MISSING, clean, resolve


def context(mapping: TrackerMapping, credentials: Mapping[str, str]) -> dict[str, str]:
    """The values templates outside write bodies may name: params and credentials."""
    return {
        **{f"params.{k}": v for k, v in mapping.params.items()},
        **{f"credentials.{k}": v for k, v in credentials.items()},
    }


class TrackerClient(PlatformClient):
    """A `PlatformClient` that logs in first when the mapping has a session."""

    def __init__(self, base_url: str, mapping: TrackerMapping, credentials: Mapping[str, str]) -> None:
        values = context(mapping, credentials)
        self._templates = mapping.headers
        self._values = values
        static = {k: t.render(values) for k, t in mapping.headers.items() if "session" not in t.names}
        auth = tuple(t.render(values) for t in mapping.basic) if mapping.basic else None
        super().__init__(base_url, headers=static, auth=auth, timeout=mapping.timeout)  # type: ignore[arg-type]
        self.session_spec: Session | None = mapping.session
        self._token: str | None = None
        self._lock = threading.Lock()
        if self.session_spec is not None:
            login_headers = {k: t.render(values) for k, t in self.session_spec.headers.items()}
            self._login_client = PlatformClient(base_url, headers=login_headers, timeout=mapping.timeout)

    def call(self, method: str, path: str, payload: Any = None, expect: tuple[int, ...] = (200, 201, 204)) -> Any:
        """`PlatformClient.call`, logged in (and logged in again once if the session expired)."""
        if self.session_spec is None:
            return super().call(method, path, payload, expect)
        token = self._ensure_session(None)
        try:
            return super().call(method, path, payload, expect)
        except PlatformRejected as exc:
            if exc.status != 401:
                raise
        self._ensure_session(token)  # that token is stale: log in again (once)
        return super().call(method, path, payload, expect)

    def _ensure_session(self, stale: str | None) -> str:
        """The current token; a new one when there is none yet or the current one is `stale`."""
        with self._lock:
            if self._token is None or self._token == stale:
                self._token = self._login()
                self.headers = {
                    **{k: t.render({**self._values, "session": self._token}) for k, t in self._templates.items()}
                }
            return self._token

    def _login(self) -> str:
        """A new session token from the login call (PlatformRejected when the answer has none)."""
        spec = self.session_spec
        assert spec is not None
        self._login_client.on_response = self.on_response
        answer = self._login_client.call(spec.method, spec.path.render(self._values, in_path=True))
        found = resolve(answer, spec.token)
        token = clean(None if found is MISSING else found)
        if token is None:
            raise PlatformRejected(
                f"{spec.method} {spec.path.text}: the answer has no session token at {spec.token.path or '/'}"
            )
        return token
