"""django-helpdesk's closed knowledge base, portal users and SLA alerts.

The lever (read in django-helpdesk 2.6.1, helpdesk/user.py): a non-public `KBCategory` is shown to
a user who is not a superuser only when the category names a queue and the user holds that queue's
permission (`helpdesk.queue_access_<slug>`) with HELPDESK_ENABLE_PER_QUEUE_STAFF_PERMISSION on.
The helpdesk has no API for users or groups, so the admin installs our small Django app
(webhooks/django-helpdesk/connector_access) that keeps a group holding the permission of one
dedicated, ticket-less queue, and answers here:

- `GET  <access_path>/kb/holders/?group=`   the group members' e-mails
- `POST <access_path>/kb/access/`           grant/revoke a batch (at most 100), one result each
- `POST <access_path>/portal-users/`        make sure an account exists for an e-mail

Options (`[platforms.django-helpdesk.options]`): `kb_group`, the readers' group, which also turns
KB access and portal registration on (without it the adapter does not offer them, so a helpdesk
without the app keeps working as before); `access_path` (default "/connector", below `base_url`);
`kb_batch` (1..100, default 100). SLA alerts need no app and no option.

django-helpdesk has no organisations: a portal user is an account, nothing more. It has no tags
either: an alert's tags go into its note, a private follow-up. Priorities are integers 1..5
(1 Critical, 2 High, 3 Normal, 4 Low, 5 Very low).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

from connector.core.errors import BadInput, PlatformRejected
from connector.core.kb_access import GRANT, REVOKE, AccessChange
from connector.platforms.base import AccessOutcome, Alert
from connector.platforms.client import PlatformClient
from connector.platforms.django_helpdesk.writing import private_followup

DEFAULT_PATH = "/connector"
MAX_BATCH = 100  # what the app accepts by default (CONNECTOR_ACCESS_MAX_BATCH)
PRIORITIES = {"critical": 1, "urgent": 1, "high": 2, "normal": 3, "medium": 3, "low": 4, "very_low": 5}


def access_path(options: Mapping[str, Any]) -> str:
    """Where the app's urls are included, relative to `base_url`."""
    path = str(options.get("access_path") or DEFAULT_PATH).strip()
    if not path.startswith("/") or "?" in path or "#" in path:
        raise BadInput("access_path must be a path starting with /", "platforms.django-helpdesk.options.access_path")
    return path.rstrip("/")


def batch_size(options: Mapping[str, Any]) -> int:
    """`kb_batch`, 1..100 (default 100)."""
    value = options.get("kb_batch", MAX_BATCH)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_BATCH:
        raise BadInput(
            f"kb_batch must be an integer from 1 to {MAX_BATCH}", "platforms.django-helpdesk.options.kb_batch"
        )
    return value


def enabled(options: Mapping[str, Any]) -> bool:
    """Whether the admin says the connector_access app is installed (by naming `kb_group`)."""
    return bool(options.get("kb_group"))


def _group(options: Mapping[str, Any]) -> dict[str, str]:
    group = options.get("kb_group")
    return {"group": str(group)} if group else {}


def _call(client: PlatformClient, options: Mapping[str, Any], method: str, path: str, body: Any = None) -> Any:
    """A call to the app (rate limits and transient failures waited out); a 404 says what is missing."""
    try:
        return client.call_patiently(method, f"{access_path(options)}{path}", body)
    except PlatformRejected as exc:
        if exc.status == 404:
            raise PlatformRejected(
                f"{method} {access_path(options)}{path}: HTTP 404: the connector_access app is "
                "not installed there (webhooks/django-helpdesk/README.md, section 5; "
                "options.access_path says where)",
                404,
            ) from None
        raise


def kb_holders(client: PlatformClient, options: Mapping[str, Any]) -> set[str]:
    """Lower-case e-mails of the closed-KB group's members."""
    query = urlencode(_group(options))
    doc = _call(client, options, "GET", "/kb/holders/" + (f"?{query}" if query else ""))
    try:
        return {str(e).strip().lower() for e in doc["emails"] if str(e).strip()}
    except (KeyError, TypeError):
        raise PlatformRejected("kb/holders: the answer has no list of emails") from None


def apply_access(
    client: PlatformClient, options: Mapping[str, Any], changes: Sequence[AccessChange]
) -> Iterator[AccessOutcome]:
    """Grants and revokes in batches; one outcome per change, yielded as each batch returns.
    The app answers "already" for a grant to a member or a revoke of a non-member."""
    size = batch_size(options)
    for change in changes:
        if change.action not in (GRANT, REVOKE):
            raise BadInput(f"django-helpdesk: apply_access takes grant and revoke, not {change.action!r}")
    for start in range(0, len(changes), size):
        batch = list(changes[start : start + size])
        body = {**_group(options), "changes": [{"email": c.email, "action": c.action} for c in batch]}
        doc = _call(client, options, "POST", "/kb/access/", body)
        results = doc.get("results") if isinstance(doc, dict) else None
        if not isinstance(results, list) or len(results) != len(batch):
            raise PlatformRejected(
                f"kb/access: expected {len(batch)} results, got {len(results) if isinstance(results, list) else 'none'}"
            )
        for change, result in zip(batch, results, strict=True):
            ok = bool(result.get("ok")) if isinstance(result, dict) else False
            detail = str(result.get("detail", "")) if isinstance(result, dict) else "unreadable result"
            yield AccessOutcome(change, ok, detail)


def register_portal_user(
    client: PlatformClient, options: Mapping[str, Any], email: str, name: str | None, customer_name: str
) -> str | None:
    """Make sure `email` has an account (a portal user); what was done, or None if it had one."""
    body: dict[str, Any] = {"email": email.strip().lower()}
    if name:
        body["name"] = name
    doc = _call(client, options, "POST", "/portal-users/", body)
    if not isinstance(doc, dict) or doc.get("result") not in ("created", "exists"):
        raise PlatformRejected("portal-users: unreadable answer")
    if doc["result"] == "exists":
        return None
    return (
        f"created portal user {body['email']} (user id {doc.get('user_id')}); django-helpdesk has "
        f"no organisations, so it is not placed in {customer_name or 'the customer'}"
    )


def priority_value(priority: str) -> int:
    """A helpdesk priority (1..5) from a name (critical, high, normal, low, very_low) or digits."""
    value = str(priority).strip().lower().replace(" ", "_").replace("-", "_")
    if value.isdigit() and 1 <= int(value) <= 5:
        return int(value)
    if value in PRIORITIES:
        return PRIORITIES[value]
    raise BadInput(
        f"django-helpdesk priority {priority!r}: use 1..5 or one of critical, high, normal, low, very_low",
        "alerts.points.priority",
    )


def alert(client: PlatformClient, alert_: Alert) -> bool:
    """The priority PATCH (when asked), then the note as a private follow-up. The PATCH goes first:
    repeating it is harmless, so a retry after a failed note writes no second note."""
    try:
        ticket_id = int(alert_.ticket_id)
    except ValueError:
        raise BadInput(f"django-helpdesk ticket ids are numbers, not {alert_.ticket_id!r}") from None
    wrote = False
    if alert_.priority:
        client.call("PATCH", f"/api/tickets/{ticket_id}/", {"priority": priority_value(alert_.priority)})
        wrote = True
    note = alert_.note_with_tags()
    if note:
        client.call("POST", "/api/followups/", private_followup(ticket_id, note))
        wrote = True
    return wrote
