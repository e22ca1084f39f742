"""The Redmine REST calls the adapter shares: users by id and by e-mail, and writes whose 422
answers (`{"errors": [...]}`) become errors naming what Redmine refused.

Redmine 5.0.4 facts (tests/fixtures/redmine/api/README.md has the captures):
- `GET /users/N.json?include=memberships`: as an administrator, with `admin`, `mail`, `status`
  and the memberships (inherited through groups too). Reading a user as an administrator
  creates an API key for that user if they had none (Redmine's own users/show.api.rsb): harmless
  (only administrators and the user see it), but a fact an admin may want to know; the answers
  are never logged. 404 for a deleted user (Redmine shows "Anonymous" in its place).
- `GET /users.json?name=E&status=`: `name` is a case-insensitive *substring* match on login,
  names and every e-mail address, `status=` (empty) lists locked users too; so the answer is
  filtered here on the primary `mail`, exactly (case-insensitively).
- No rate limits (nothing in Redmine answers 429); lists page by `limit` (at most 100) and `offset`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlencode

from connector.core.errors import PlatformRejected
from connector.platforms.client import PlatformClient

PAGE = 100
MAX_PAGES = 1000  # 100,000 users


def rejected(method: str, path: str, answer: Any, what: str) -> PlatformRejected:
    """The error for a 422 answer, with Redmine's own messages (they name the field)."""
    errors = answer.get("errors") if isinstance(answer, dict) else None
    messages = "; ".join(str(e) for e in errors) if isinstance(errors, list) and errors else "no reason given"
    return PlatformRejected(f"Redmine refused {what} ({method} {path}: HTTP 422): {messages}", 422)


def write(
    client: PlatformClient, method: str, path: str, body: Any, what: str, expect: tuple[int, ...] = (200, 201, 204)
) -> Any:
    """A write; a 422 becomes `PlatformRejected` naming what Redmine refused (its answers: 204
    without a body, 201 with the object, 422 `{"errors": [...]}`)."""
    answer = client.call(method, path, body, expect=tuple(expect) + (422,))
    if isinstance(answer, dict) and isinstance(answer.get("errors"), list):
        raise rejected(method, path, answer, what)
    return answer


def user(client: PlatformClient, user_id: int) -> dict[str, Any] | None:
    """A user with their memberships; None when Redmine has no such user any more."""
    try:
        answer = client.call("GET", f"/users/{int(user_id)}.json?include=memberships") or {}
    except PlatformRejected as exc:
        if exc.status == 404:
            return None
        raise
    return answer.get("user") if isinstance(answer.get("user"), dict) else None


def users(client: PlatformClient, ids: list[int]) -> dict[int, dict[str, Any] | None]:
    """Each user of `ids` (once each), as `user` gives them."""
    return {uid: user(client, uid) for uid in dict.fromkeys(ids)}


def user_by_email(client: PlatformClient, email: str, patiently: bool = False) -> dict[str, Any] | None:
    """The user (active or locked) whose primary e-mail is `email`, if any; `patiently` waits out
    transient failures (bulk work outside the worker's retries)."""
    wanted = email.strip().lower()
    query = urlencode({"name": wanted, "status": "", "limit": PAGE})
    call = client.call_patiently if patiently else client.call
    answer = call("GET", f"/users.json?{query}") or {}
    for found in answer.get("users") or []:
        if str(found.get("mail") or "").strip().lower() == wanted:
            return found
    return None


def pages(client: PlatformClient, path: str, key: str, params: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Every item of a paged list (`limit`/`offset`, `total_count`)."""
    offset = 0
    for _ in range(MAX_PAGES):
        query = urlencode({**params, "limit": PAGE, "offset": offset})
        answer = client.call_patiently("GET", f"{path}?{query}") or {}
        items = answer.get(key) or []
        yield from items
        offset += len(items)
        if not items or offset >= int(answer.get("total_count") or 0):
            return
