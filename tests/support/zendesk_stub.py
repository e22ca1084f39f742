"""A small in-memory Zendesk: only the endpoints the KB lever uses, answering in the documented
shapes, for the tests (as `responses` callbacks) and for `benchmarks/kb_sync.py` (as a WSGI app on
127.0.0.1 with a steady rate limit).

Endpoints (docs: https://developer.zendesk.com/api-reference/ticketing/users/users/,
https://developer.zendesk.com/api-reference/ticketing/ticket-management/search/#export-search-results,
https://developer.zendesk.com/api-reference/ticketing/ticket-management/job_statuses/):
GET /api/v2/search/export (users, `tags:` query, cursor pages), GET /api/v2/users/search (`email:`
terms are alternatives), GET /api/v2/users/show_many, POST /api/v2/users/create_many (an e-mail in
use is a failed result), POST /api/v2/users/create_or_update_many,
PUT /api/v2/users/update_many (per-user bodies; `tags` replaces the list), GET
/api/v2/job_statuses/show_many. Jobs do their work when queued and report `queued` until
`job_seconds` have passed.
"""

from __future__ import annotations

import base64
import copy
import json
import math
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

BASE = "https://acme-support.zendesk.com"
USER_TEMPLATE: dict[str, Any] = {
    "id": 0,
    "url": "",
    "name": "",
    "email": "",
    "created_at": "2024-05-01T09:00:00Z",
    "updated_at": "2024-05-01T09:00:00Z",
    "time_zone": "Moscow",
    "iana_time_zone": "Europe/Moscow",
    "phone": None,
    "shared_phone_number": None,
    "photo": None,
    "locale_id": 1,
    "locale": "en-US",
    "organization_id": None,
    "role": "end-user",
    "verified": False,
    "external_id": None,
    "tags": [],
    "alias": "",
    "active": True,
    "shared": False,
    "shared_agent": False,
    "last_login_at": None,
    "two_factor_auth_enabled": None,
    "signature": "",
    "details": "",
    "notes": "",
    "role_type": None,
    "custom_role_id": None,
    "moderator": False,
    "ticket_restriction": "requested",
    "only_private_comments": False,
    "restricted_agent": True,
    "suspended": False,
    "default_group_id": None,
    "report_csv": False,
    "user_fields": {},
}


def user_record(
    user_id: int, email: str, tags: list[str] | None = None, name: str | None = None, base: str = BASE
) -> dict[str, Any]:
    """A user as the Users API shows it."""
    return {
        **copy.deepcopy(USER_TEMPLATE),
        "id": user_id,
        "url": f"{base}/api/v2/users/{user_id}.json",
        "name": name or email.split("@")[0],
        "email": email,
        "tags": list(tags or []),
    }


class FakeZendesk:
    """Users, tags and bulk jobs in memory; `handle` answers one request."""

    def __init__(
        self,
        base: str = BASE,
        job_seconds: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
        fault: Callable[[str, str], int | None] | None = None,
    ) -> None:
        self.base, self.job_seconds, self.clock, self.fault = base, job_seconds, clock, fault
        self.users: dict[int, dict[str, Any]] = {}
        self.by_email: dict[str, int] = {}
        self.jobs: dict[str, tuple[float, dict[str, Any]]] = {}
        self.next_id = 10_000
        self.lock = threading.Lock()
        self.requests: list[tuple[str, str, Any]] = []  # method, path with query, JSON body

    def add_user(self, email: str, tags: list[str] | None = None) -> int:
        """A user that exists before the test."""
        self.next_id += 1
        self.users[self.next_id] = user_record(self.next_id, email.lower(), tags, base=self.base)
        self.by_email[email.lower()] = self.next_id
        return self.next_id

    def tags_of(self, email: str) -> list[str] | None:
        """The user's tags now (None: no such user)."""
        uid = self.by_email.get(email.lower())
        return None if uid is None else list(self.users[uid]["tags"])

    def handle(self, method: str, url: str, body: Any) -> tuple[int, dict[str, Any]]:
        """(status, JSON answer) for one request."""
        parts = urlsplit(url)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        with self.lock:
            self.requests.append((method, parts.path + (f"?{parts.query}" if parts.query else ""), body))
            status = self.fault(method, parts.path) if self.fault else None
            if status:
                return status, {"error": "InternalError" if status >= 500 else "Error"}
            route = {
                ("GET", "/api/v2/search/export"): self._export,
                ("GET", "/api/v2/users/search"): self._search,
                ("GET", "/api/v2/users/show_many"): self._show_many,
                ("POST", "/api/v2/users/create_or_update_many"): self._create_or_update_many,
                ("POST", "/api/v2/users/create_many"): self._create_many,
                ("PUT", "/api/v2/users/update_many"): self._update_many,
                ("GET", "/api/v2/job_statuses/show_many"): self._jobs,
            }.get((method, parts.path.removesuffix(".json")))
            if route is None:
                return 404, {"error": "InvalidEndpoint", "description": "Not found"}
            return route(query, body)

    def _export(self, query: Mapping[str, str], body: Any) -> tuple[int, dict[str, Any]]:
        if query.get("filter[type]") != "user":
            return 400, {"error": "InvalidSearchFilter"}
        tag = query.get("query", "").removeprefix("tags:")
        matching = sorted(uid for uid, u in self.users.items() if tag in u["tags"])
        size = min(int(query.get("page[size]", "100")), 1000)
        start = int(base64.urlsafe_b64decode(query["page[after]"]).decode()) if query.get("page[after]") else 0
        page = matching[start : start + size]
        more = start + size < len(matching)
        cursor = base64.urlsafe_b64encode(str(start + size).encode()).decode() if more else None
        return 200, {
            "results": [{**self.users[u], "result_type": "user"} for u in page],
            "facets": None,
            "meta": {"has_more": more, "after_cursor": cursor, "before_cursor": None},
            "links": {"prev": None, "next": f"{self.base}/api/v2/search/export?page[after]={cursor}" if more else None},
        }

    def _search(self, query: Mapping[str, str], body: Any) -> tuple[int, dict[str, Any]]:
        wanted = {t.removeprefix("email:").lower() for t in query.get("query", "").split() if t.startswith("email:")}
        found = [self.users[self.by_email[e]] for e in sorted(wanted) if e in self.by_email]
        per_page, page = min(int(query.get("per_page", "100")), 100), int(query.get("page", "1"))
        chunk = found[(page - 1) * per_page : page * per_page]
        more = page * per_page < len(found)
        return 200, {
            "users": chunk,
            "next_page": f"{self.base}/api/v2/users/search.json?page={page + 1}" if more else None,
            "previous_page": None,
            "count": len(found),
        }

    def _show_many(self, query: Mapping[str, str], body: Any) -> tuple[int, dict[str, Any]]:
        ids = [int(i) for i in query.get("ids", "").split(",") if i.strip().isdigit()][:100]
        users = [self.users[i] for i in ids if i in self.users]
        return 200, {"users": users, "next_page": None, "previous_page": None, "count": len(users)}

    def _queue(self, results: list[dict[str, Any]]) -> tuple[int, dict[str, Any]]:
        job_id = uuid.uuid4().hex
        status = {
            "id": job_id,
            "url": f"{self.base}/api/v2/job_statuses/{job_id}.json",
            "total": len(results),
            "progress": len(results),
            "status": "completed",
            "message": "Completed at 2024-05-14 06:00:00 +0000",
            "results": results,
        }
        self.jobs[job_id] = (self.clock(), status)
        return 200, {"job_status": {**status, "progress": None, "status": "queued", "message": None, "results": None}}

    def _create_or_update_many(self, query: Mapping[str, str], body: Any) -> tuple[int, dict[str, Any]]:
        users = (body or {}).get("users") or []
        if len(users) > 100:
            return 400, {"error": "TooManyValues", "description": "up to 100 users"}
        results = []
        for index, given in enumerate(users):
            email = str(given.get("email", "")).lower()
            uid = self.by_email.get(email)
            if uid is None:
                if not given.get("name"):
                    results.append({"index": index, "error": "RecordInvalid", "details": "Name: is too short"})
                    continue
                uid = self.add_user(email)
                self.users[uid]["name"] = given["name"]
                action, status = "create", "Created"
            else:
                action, status = "update", "Updated"
            for key in ("name", "tags", "organization_id"):
                if key in given:
                    self.users[uid][key] = copy.deepcopy(given[key])
            results.append({"id": uid, "index": index, "action": action, "status": status, "success": True})
        return self._queue(results)

    def _create_many(self, query: Mapping[str, str], body: Any) -> tuple[int, dict[str, Any]]:
        users = (body or {}).get("users") or []
        if len(users) > 100:
            return 400, {"error": "TooManyValues", "description": "up to 100 users"}
        results = []
        for index, given in enumerate(users):
            email = str(given.get("email", "")).lower()
            if email in self.by_email or not given.get("name"):
                results.append(
                    {
                        "index": index,
                        "status": "Failed",
                        "success": False,
                        "error": "RecordInvalid",
                        "details": f"Email: {email} is already being used by another user"
                        if email in self.by_email
                        else "Name: is too short",
                    }
                )
                continue
            uid = self.add_user(email, list(given.get("tags") or []))
            self.users[uid]["name"] = given["name"]
            results.append({"id": uid, "index": index, "action": "create", "status": "Created", "success": True})
        return self._queue(results)

    def _update_many(self, query: Mapping[str, str], body: Any) -> tuple[int, dict[str, Any]]:
        users = (body or {}).get("users") or []
        if len(users) > 100 or query:
            return 400, {"error": "InvalidValue", "description": "per-user bodies, up to 100"}
        results = []
        for given in users:
            uid = given.get("id")
            if uid not in self.users:
                results.append(
                    {
                        "id": uid,
                        "action": "update",
                        "success": False,
                        "status": "Failed",
                        "errors": "RecordNotFound",
                        "details": "User not found",
                    }
                )
                continue
            for key, value in given.items():
                if key != "id":
                    self.users[uid][key] = copy.deepcopy(value)
            results.append({"id": uid, "action": "update", "success": True, "status": "Updated"})
        return self._queue(results)

    def _jobs(self, query: Mapping[str, str], body: Any) -> tuple[int, dict[str, Any]]:
        out = []
        for job_id in query.get("ids", "").split(","):
            if job_id in self.jobs:
                queued, status = self.jobs[job_id]
                done = self.clock() - queued >= self.job_seconds
                out.append(
                    status if done else {**status, "status": "working", "progress": 0, "message": None, "results": None}
                )
        return 200, {"job_statuses": out}


class SteadyRate:
    """A token bucket: `per_minute` requests a minute at a steady rate, bursts of at most `burst`;
    `take()` is None when the request may go, else the Retry-After seconds (whole, as Zendesk sends)."""

    def __init__(self, per_minute: float, burst: int = 3, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate, self.burst, self.clock = per_minute / 60.0, burst, clock
        self.tokens, self.at = float(burst), clock()
        self.lock = threading.Lock()

    def take(self) -> int | None:
        """Spend a token, or say how long until one is there."""
        with self.lock:
            now = self.clock()
            self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
            self.at = now
            if self.tokens >= 1:
                self.tokens -= 1
                return None
            return max(1, math.ceil((1 - self.tokens) / self.rate))


def wsgi_app(fake: FakeZendesk, limit: SteadyRate, counts: dict[str, int]) -> Callable:
    """The fake behind a rate limit, as a WSGI application; `counts` gets requests and 429s."""

    def app(environ: dict, start_response: Callable) -> list[bytes]:
        counts["requests"] = counts.get("requests", 0) + 1
        wait = limit.take()
        if wait is not None:
            counts["429"] = counts.get("429", 0) + 1
            payload = {
                "error": "APIRateLimitExceeded",
                "description": "Number of allowed API requests per minute exceeded",
            }
            start_response("429 Too Many Requests", [("Content-Type", "application/json"), ("Retry-After", str(wait))])
            return [json.dumps(payload).encode()]
        size = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(size) if size else b""
        url = environ.get("PATH_INFO", "") + ("?" + environ["QUERY_STRING"] if environ.get("QUERY_STRING") else "")
        status, answer = fake.handle(environ["REQUEST_METHOD"], url, json.loads(raw) if raw else None)
        start_response(f"{status} X", [("Content-Type", "application/json")])
        return [json.dumps(answer).encode()]

    return app
