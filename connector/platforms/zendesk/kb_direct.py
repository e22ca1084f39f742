"""Zendesk KB changes made one person at a time with synchronous calls only: the per-ticket path,
taken inside an event's lease, where nothing may wait (no bulk job to poll, no Retry-After to sleep
through: a 429 ends the attempt and the worker returns the event to the queue).

A grant adds the tag with the Tags API (`PUT /api/v2/users/{id}/tags`, which adds to the user's
tags and touches no other), creating the end user first when there is none (`users/create_or_update`,
no verification e-mail, as the bulk path does); a revoke removes only the tag (`DELETE` on the same
path). Both are idempotent, so a retried event changes nothing twice.

Docs: https://developer.zendesk.com/api-reference/ticketing/ticket-management/tags/ (Add Tags,
Remove Tags; user tagging must be on, as for the KB user segment),
https://developer.zendesk.com/api-reference/ticketing/users/users/ (Create Or Update User).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from connector.core.errors import PlatformError
from connector.core.kb_access import GRANT, REVOKE, AccessChange
from connector.platforms.base import AccessOutcome
from connector.platforms.pacing import PacedApi


def apply_now(
    api: PacedApi, tag: str, lookup: Callable[[Sequence[str]], dict[str, int]], changes: Sequence[AccessChange]
) -> Iterator[AccessOutcome]:
    """One outcome per change, each applied with synchronous calls."""
    for change in changes:
        email = change.email.strip().lower()
        if change.action not in (GRANT, REVOKE):
            yield AccessOutcome(change, False, f"{change.action} is not a KB change")
            continue
        user = lookup([email]).get(email)
        if user is None and change.action == REVOKE:
            yield AccessOutcome(change, True, "already: not a Zendesk user")
            continue
        created = False
        if user is None:
            answer = (
                api.call(
                    "POST",
                    "/api/v2/users/create_or_update",
                    {"user": {"email": email, "name": email.split("@")[0], "skip_verify_email": True}},
                    expect=(200, 201),
                )
                or {}
            )
            user = (answer.get("user") or {}).get("id")
            if not isinstance(user, int):
                raise PlatformError("POST /api/v2/users/create_or_update: no user id in the answer")
            created = True
        method = "PUT" if change.action == GRANT else "DELETE"
        api.call(method, f"/api/v2/users/{user}/tags", {"tags": [tag]})
        detail = ("created and granted" if created else "granted") if change.action == GRANT else "revoked"
        yield AccessOutcome(change, True, detail)
