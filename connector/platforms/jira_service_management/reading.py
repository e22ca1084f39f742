"""Turn Jira Cloud REST answers (an issue with its changelog, its comments, the roles of their
authors) into the domain's `Ticket`. Pure: dicts in, domain objects out.

Docs (Jira Cloud platform REST v3 and the JSM REST API):
- issue https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issues/#api-rest-api-3-issue-issueidorkey-get
  (`expand=changelog`: `changelog.histories[{created, items[{fieldId, from, fromString, to, toString}]}]`)
- comments https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issue-comments/
  (`jsdPublic`: false = internal note, true = shared with the customer)
- users https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-users/#api-rest-api-3-user-get
  (`accountType` atlassian | app | customer; `applicationRoles.size`: product licences)
Dates come as `2024-05-13T10:00:00.412+0300`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from connector.core.alerts import is_alert_tag
from connector.core.entitlement import REQUEST_TYPES, TOPICS
from connector.core.errors import BadInput
from connector.core.ticket import Author, Carried, Comment, StatusAt, Ticket, TicketStatus

log = logging.getLogger(__name__)

PLATFORM = "jira-service-management"
KEY = re.compile(r"^[A-Z][A-Z0-9_]*-[1-9][0-9]*$")
COMMON = {s.value: s for s in TicketStatus}
# The statuses of JSM's own workflows (service request, incident, problem, change), by name.
# "Pending" in JSM waits on someone other than the customer (an approval, a vendor): the
# vendor's clock keeps running. Anything else is mapped in options.statuses.
DEFAULT_STATUSES = {
    "open": TicketStatus.OPEN,
    "waiting for support": TicketStatus.OPEN,
    "in progress": TicketStatus.OPEN,
    "work in progress": TicketStatus.OPEN,
    "escalated": TicketStatus.OPEN,
    "reopened": TicketStatus.OPEN,
    "under investigation": TicketStatus.OPEN,
    "waiting for customer": TicketStatus.PENDING,
    "pending": TicketStatus.HOLD,
    "waiting for approval": TicketStatus.HOLD,
    "awaiting approval": TicketStatus.HOLD,
    "resolved": TicketStatus.SOLVED,
    "done": TicketStatus.SOLVED,
    "completed": TicketStatus.SOLVED,
    "closed": TicketStatus.CLOSED,
    "canceled": TicketStatus.CLOSED,
    "cancelled": TicketStatus.CLOSED,
    "declined": TicketStatus.CLOSED,
}
CATEGORIES = {"new": TicketStatus.NEW, "indeterminate": TicketStatus.OPEN, "done": TicketStatus.SOLVED}


def issue_key(value: Any) -> str:
    """A Jira issue key (`SUP-123`); BadInput for anything else (it goes into API paths)."""
    key = str(value or "").strip()
    if not KEY.match(key):
        raise BadInput(f"not a Jira issue key: {key[:40]!r} (like SUP-123)")
    return key


def parse_moment(value: Any) -> datetime | None:
    """A Jira date-time (`2024-05-13T10:00:00.412+0300`); None for empty or unreadable values."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return moment if moment.utcoffset() is not None else None


def api_moment(value: Any, what: str) -> datetime:
    """A moment the API always sends (created); BadInput when it is missing or unreadable."""
    moment = parse_moment(value)
    if moment is None:
        raise BadInput(f"Jira answer has no readable {what}: {value!r}")
    return moment


def text(value: Any) -> str | None:
    """A field value as text: strings, select options (`{"value"}`), users (`displayName`)."""
    if isinstance(value, Mapping):
        value = value.get("value", value.get("name"))
    if isinstance(value, list):  # a multi-select: the first option
        return text(value[0]) if value else None
    if value is None or not str(value).strip():
        return None
    return str(value).strip()


def product_code(value: Any, products: Mapping[str, str]) -> str | None:
    """The registry's product code for a field value: `options.products` first, else the value
    in the registry's code style (`KOMPAS-3D` -> `kompas_3d`)."""
    raw = text(value)
    if raw is None:
        return None
    if raw in products:
        return products[raw]
    return re.sub(r"[^a-z0-9]+", "_", raw.lower()).strip("_") or None


def vocabulary(value: Any, allowed: Iterable[str]) -> str | None:
    """A field value mapped onto our words: `information`, or an option like `jsm_information`."""
    word = (text(value) or "").lower()
    for known in allowed:
        if word and (word == known or word.endswith("_" + known)):
            return known
    return None


def common_status(status_id: Any, name: Any, statuses: Mapping[str, str], category: str | None = None) -> TicketStatus:
    """A Jira status as a common one: options.statuses (by id or name), JSM's defaults by name,
    the status category when known; else open (the clock runs), with a warning to map it."""
    for key in (str(status_id or ""), str(name or ""), str(name or "").lower()):
        if key and key in statuses:
            return COMMON[statuses[key]]
    found = DEFAULT_STATUSES.get(str(name or "").strip().lower()) or CATEGORIES.get(category or "")
    if found is None:
        log.warning(
            "jira-service-management: status %r (%s) is not mapped; counted as open (map it in options.statuses)",
            name,
            status_id,
        )
        return TicketStatus.OPEN
    return found


def status_history(
    created: datetime, histories: Sequence[Mapping[str, Any]], current: Mapping[str, Any], statuses: Mapping[str, str]
) -> list[StatusAt]:
    """The status at creation (the first change's `from`, else the current one) and every change."""
    current_id, category = current.get("id"), (current.get("statusCategory") or {}).get("key")

    def status(status_id: Any, name: Any) -> TicketStatus:
        """The common status; the category is known only for the issue's current status."""
        return common_status(status_id, name, statuses, category if str(status_id) == str(current_id) else None)

    changes = []
    for history in sorted(histories, key=lambda h: (str(h.get("created", "")), str(h.get("id", "")))):
        for item in history.get("items") or []:
            if str(item.get("fieldId") or item.get("field") or "").lower() == "status":
                at = api_moment(history.get("created"), "changelog created")
                changes.append((at, item))
    first = (
        (changes[0][1].get("from"), changes[0][1].get("fromString")) if changes else (current_id, current.get("name"))
    )
    timeline = [StatusAt(created, status(*first))]
    timeline += [StatusAt(max(at, created), status(item.get("to"), item.get("toString"))) for at, item in changes]
    return timeline


def unclassified_authors(comments: Sequence[Mapping[str, Any]], reporter_id: Any) -> list[str]:
    """Comment authors whose role the comment itself does not tell (Atlassian accounts other
    than the reporter: agents, or customers with an Atlassian account)."""
    found = []
    for comment in comments:
        author = comment.get("author") or {}
        account = author.get("accountId")
        if (
            account
            and account != reporter_id
            and author.get("accountType") not in ("customer", "app")
            and account not in found
        ):
            found.append(account)
    return found


def author_role(author: Mapping[str, Any], reporter_id: Any, roles: Mapping[str, Author]) -> Author:
    """Who wrote a comment: the reporter; a portal customer or an app (automation rules, apps:
    never a person answering); else what the user lookup found (licensed = agent)."""
    account = author.get("accountId")
    if account and account == reporter_id:
        return Author.REQUESTER
    if author.get("accountType") in ("customer", "app"):
        return Author.END_USER
    return roles.get(account, Author.END_USER) if account else Author.END_USER


def comments(items: Sequence[Mapping[str, Any]], reporter_id: Any, roles: Mapping[str, Author]) -> list[Comment]:
    """Every comment in time order: its author's role and whether the customer sees it."""
    found = [
        Comment(
            api_moment(c.get("created"), "comment created"),
            author_role(c.get("author") or {}, reporter_id, roles),
            c.get("jsdPublic") is not False,
        )
        for c in items
    ]
    return sorted(found, key=lambda c: c.at)


def is_licensed(user: Mapping[str, Any]) -> bool:
    """Whether a user holds a product licence (an agent, not a customer): `applicationRoles.size`."""
    roles = user.get("applicationRoles") or {}
    return user.get("accountType") == "atlassian" and (roles.get("size") or len(roles.get("items") or [])) > 0


def carried(
    doc: Mapping[str, Any], fields: Mapping[str, str], tag_prefix: str, tier_values: Mapping[str, str]
) -> Carried:
    """What the connector's own fields hold now: tier, due moments, prefixed labels, assignee."""
    raw_tier = text(doc.get(fields.get("tier", "")))
    by_value = {v: k for k, v in tier_values.items()}
    assignee = doc.get("assignee") or {}
    return Carried(
        tier=by_value.get(raw_tier, raw_tier) if raw_tier else None,
        first_response_due=parse_moment(doc.get(fields.get("first_response_due", ""))),
        resolution_due=parse_moment(doc.get(fields.get("resolution_due", ""))),
        flags=frozenset(
            label[len(tag_prefix) :]
            for label in doc.get("labels") or []
            if tag_prefix
            and isinstance(label, str)
            and label.startswith(tag_prefix)
            and not is_alert_tag(label[len(tag_prefix) :])
        ),
        assignee=(text(assignee.get("emailAddress")) or "").lower() or None,
    )


def to_ticket(
    issue: Mapping[str, Any],
    histories: Sequence[Mapping[str, Any]],
    comment_items: Sequence[Mapping[str, Any]],
    roles: Mapping[str, Author],
    requester_email: str | None,
    organisation_id: str | None,
    fields: Mapping[str, str],
    tag_prefix: str,
    options: Mapping[str, Any],
) -> Ticket:
    """The domain ticket from the issue, its changelog, its comments and their authors' roles."""
    doc = issue.get("fields") or {}
    created = api_moment(doc.get("created"), "issue created")
    reporter = doc.get("reporter") or {}
    statuses = options.get("statuses") or {}
    current = doc.get("status") or {}
    history = status_history(created, histories, current, statuses)
    return Ticket(
        platform=PLATFORM,
        id=issue_key(issue.get("key")),
        created_at=created,
        requester_email=(requester_email or "").strip().lower() or None,
        organisation_id=organisation_id,
        product=product_code(doc.get(fields.get("product", "")), options.get("products") or {}),
        request_type=vocabulary(doc.get(fields.get("request_type", "")), REQUEST_TYPES),
        topic=vocabulary(doc.get(fields.get("topic", "")), TOPICS),
        channel=None,  # Jira's REST API does not say how a request came in (portal, e-mail, ...)
        statuses=tuple(history),
        status=common_status(
            current.get("id"), current.get("name"), statuses, (current.get("statusCategory") or {}).get("key")
        )
        if current
        else None,
        comments=tuple(comments(comment_items, reporter.get("accountId"), roles)),
        carried=carried(doc, fields, tag_prefix, options.get("tier_values") or {}),
        subject=text(doc.get("summary")),
        requester_name=text(reporter.get("displayName")),
    )
