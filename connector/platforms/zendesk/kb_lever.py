"""Zendesk's knowledge-base lever: a user tag matched by a Help Center user segment. The same
lever, on another tag (`options.mailing_tag`), keeps the information mailing's tag.

The closed KB is the Help Center sections whose "Visible to" is a user segment
(`user_type: signed_in_users`, `tags: [kb_tag]`); holding access = the user holds the tag
(`options.kb_tag`, default `kb_closed`). Who holds it comes from the search export (cursor
pagination, not capped at 1,000 results). A user's `tags` is the whole list when written, so the
connector never writes a tag list it has not just read by id: grants send `tags` = current ∪
{kb_tag}, revokes current − {kb_tag}, and every other tag survives.

Applying a plan, 100 changes a batch (the bulk endpoints' limit), several batches in flight:
1. look the batch's e-mails up (`users/search`, `email:` terms);
2. e-mails with no user yet (grants only) are created with the tag, end users without a
   verification e-mail (`create_many`, `skip_verify_email`), one job; an e-mail it refuses (the
   search index lagged: the user exists) is created or matched by `create_or_update_many` with no
   tags, then read and updated as below, so no tag list is ever written that was not just read;
3. read the current tags of the existing users by id (`users/show_many`; the search index may lag);
4. write the changed tag lists (`users/update_many`, per-user bodies), one job;
jobs are polled together (`job_statuses/show_many`) in a bounded loop. Every request goes through
`call_patiently` (429: waits Retry-After; 5xx: backs off), paced at `options.api_requests_per_minute`
when set. Outcomes are yielded per batch as its last job completes; a failure that outlasts the
retries raises after the completed batches' outcomes were yielded.

Docs:
- search export https://developer.zendesk.com/api-reference/ticketing/ticket-management/search/#export-search-results
- users https://developer.zendesk.com/api-reference/ticketing/users/users/ (Search Users, Show Many Users,
  Create Or Update User, Create Many Users, Create Or Update Many Users, Update Many Users; `tags` replaces the list,
  `skip_verify_email`)
- job statuses https://developer.zendesk.com/api-reference/ticketing/ticket-management/job_statuses/
  (Show Many Job Statuses; results: `id`, `index`, `action`, `success`, `status`, `errors`/`details`)
- organizations https://developer.zendesk.com/api-reference/ticketing/organizations/organizations/
  (Search Organizations by External ID, Create Or Update Organization) and memberships
  https://developer.zendesk.com/api-reference/ticketing/organizations/organization_memberships/
- tickets https://developer.zendesk.com/api-reference/ticketing/tickets/tickets/#update-ticket
  (`additional_tags`, `comment.public: false`, `priority`)
- rate limits https://developer.zendesk.com/api-reference/introduction/rate-limits/
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from connector.core.errors import PlatformError
from connector.core.kb_access import GRANT, REVOKE, AccessChange
from connector.platforms.base import AccessOutcome
from connector.platforms.client import may_wait
from connector.platforms.pacing import PacedApi
from connector.platforms.zendesk.kb_direct import apply_now

log = logging.getLogger(__name__)

DEFAULT_KB_TAG = "kb_closed"
BATCH = 100  # users per bulk job (create_or_update_many, update_many, show_many)
EXPORT_PAGE = 1000  # the search export's maximum page size
MAX_EXPORT_PAGES = 1000  # 1,000,000 holders
MAX_LOOKUP_PAGES = 10  # users/search stops at 1,000 results
MAX_QUERY_CHARS = 3000  # e-mails per users/search query are cut to keep the URL short
WINDOW = 10  # batches with a job in flight (Zendesk keeps the statuses of its last 100 jobs only)
FINISHED = frozenset({"completed", "failed", "killed"})


@dataclass
class _Batch:
    """Up to 100 changes on their way through lookup, creation, reading and the tag update."""

    changes: list[AccessChange]
    outcomes: dict[int, AccessOutcome] = field(default_factory=dict)
    ids: dict[str, int] = field(default_factory=dict)  # e-mail -> user id
    fresh: set[int] = field(default_factory=set)  # created by this batch: no tags yet
    stage: str = "lookup"
    job_emails: list[str] = field(default_factory=list)  # creation job: e-mails by index
    job_users: dict[int, str] = field(default_factory=dict)  # update job: user id -> what it does

    def settle(self, email: str, ok: bool, detail: str) -> None:
        """The outcome of every still-open change for `email`."""
        for i, change in enumerate(self.changes):
            if i not in self.outcomes and change.email.strip().lower() == email:
                self.outcomes[i] = AccessOutcome(change, ok, detail)

    def open_emails(self) -> list[str]:
        """E-mails with a change still open, in plan order, once each."""
        return list(
            dict.fromkeys(c.email.strip().lower() for i, c in enumerate(self.changes) if i not in self.outcomes)
        )

    def results(self) -> list[AccessOutcome]:
        """One outcome per change, in plan order (unsettled ones failed)."""
        return [
            self.outcomes.get(i) or AccessOutcome(c, False, "not done: stopped before Zendesk reported on it")
            for i, c in enumerate(self.changes)
        ]


def job_error(result: Mapping[str, Any]) -> str | None:
    """The failure text of one job result, or None when it succeeded."""
    failed = (
        result.get("success") is False
        or str(result.get("status", "")).lower() == "failed"
        or bool(result.get("error"))
        or bool(result.get("errors"))
    )
    if not failed:
        return None
    parts = [str(result.get(k)) for k in ("error", "errors", "details") if result.get(k)]
    return "; ".join(parts) or str(result.get("status") or "failed")


class ZendeskKbLever:
    """Who holds a user tag (the KB tag, or `tag`), and grants and revokes in bulk jobs (the batch
    flow above)."""

    def __init__(self, api: PacedApi, options: Mapping[str, Any], tag: str | None = None) -> None:
        self.api = api
        self.tag = tag or str(options.get("kb_tag") or DEFAULT_KB_TAG)
        self.window = int(options.get("job_window") or WINDOW)
        self.poll_delay = float(options.get("job_poll_seconds", 1.0))
        self.job_timeout = float(options.get("job_timeout_seconds", 600.0))
        self.max_polls = int(options.get("job_max_polls", 600))
        self._last_poll: float | None = None
        self._polls: dict[str, int] = {}

    def holders(self) -> set[str]:
        """Lower-case e-mails of the users holding the KB tag (search export, all pages)."""
        found: set[str] = set()
        params = {"query": f"tags:{self.tag}", "filter[type]": "user", "page[size]": str(EXPORT_PAGE)}
        for _ in range(MAX_EXPORT_PAGES):
            page = self.api.call("GET", f"/api/v2/search/export?{urlencode(params)}") or {}
            for user in page.get("results") or []:
                email = str(user.get("email") or "").strip().lower()
                if email and self.tag in (user.get("tags") or []) and user.get("active", True):
                    found.add(email)
            meta = page.get("meta") or {}
            if not (meta.get("has_more") and meta.get("after_cursor")):
                return found
            params = {**params, "page[after]": meta["after_cursor"]}
        raise PlatformError(
            f"zendesk: more than {MAX_EXPORT_PAGES * EXPORT_PAGE:,} users hold tag {self.tag}; stopped reading"
        )

    def apply(self, changes: Sequence[AccessChange]) -> Iterator[AccessOutcome]:
        """Grants and revokes in batches of 100, up to `window` batches with a job in flight;
        one outcome per change, yielded as each batch completes. Inside an event's lease (a
        ticket's own change; nothing may wait there) each change is made with synchronous calls."""
        if not may_wait():
            yield from apply_now(self.api, self.tag, self.lookup, changes)
            return
        kb = [c for c in changes if c.action in (GRANT, REVOKE)]
        for c in changes:
            if c.action not in (GRANT, REVOKE):
                yield AccessOutcome(c, False, f"{c.action} is not a KB change")
        waiting = deque(_Batch(list(kb[i : i + BATCH])) for i in range(0, len(kb), BATCH))
        flying: dict[str, tuple[_Batch, float]] = {}  # job id -> batch, when submitted
        try:
            while waiting or flying:
                while waiting and len(flying) < self.window:
                    batch = waiting.popleft()
                    job = self._advance(batch)
                    if job is None:
                        yield from batch.results()
                    else:
                        flying[job] = (batch, self.api.clock())
                if flying:
                    yield from self._poll_round(flying, advance=True)
        except PlatformError:
            # what is already queued on Zendesk will happen: wait for it and report it, then fail
            yield from self._drain(flying)
            raise

    def _drain(self, flying: dict[str, tuple[_Batch, float]]) -> Iterator[AccessOutcome]:
        """Outcomes of the batches whose job is in flight, starting nothing new (best effort)."""
        try:
            while flying:
                yield from self._poll_round(flying, advance=False)
        except PlatformError as exc:
            log.warning("zendesk: could not learn the outcome of %d queued job(s): %s", len(flying), exc)

    def _poll_round(self, flying: dict[str, tuple[_Batch, float]], advance: bool) -> Iterator[AccessOutcome]:
        """Wait until a poll is due, poll every job in flight at once, move finished batches on
        (or only collect them, when not `advance`); raise when a job takes too long."""
        due = min(at for _, at in flying.values()) + self.poll_delay
        if self._last_poll is not None:
            due = max(due, self._last_poll + self.poll_delay)
        if due > self.api.clock():
            self.api.sleep(due - self.api.clock())
        self._last_poll = self.api.clock()
        statuses = self._job_statuses(list(flying))
        for job_id in list(flying):
            status = statuses.get(job_id) or {}
            batch, submitted = flying[job_id]
            if status.get("status") in FINISHED:
                del flying[job_id]
                self._polls.pop(job_id, None)
                self._absorb(batch, status)
                job = self._advance(batch) if advance else None
                if job is None:
                    yield from batch.results()
                else:
                    flying[job] = (batch, self.api.clock())
                continue
            self._polls[job_id] = self._polls.get(job_id, 0) + 1
            if self._polls[job_id] >= self.max_polls or self.api.clock() - submitted > self.job_timeout:
                del flying[job_id]
                raise PlatformError(
                    f"zendesk job {job_id} still {status.get('status') or 'unknown'} after"
                    f" {self._polls[job_id]} polls; run the sync again to resume"
                )

    def _advance(self, batch: _Batch) -> str | None:
        """Run the batch's next steps up to a job submission (its id) or to its end (None)."""
        if batch.stage == "lookup":
            batch.ids = self.lookup(batch.open_emails())
            create = []
            for email in batch.open_emails():
                if email in batch.ids:
                    continue
                if self._wanted(batch, email) == GRANT:
                    create.append(email)
                else:
                    batch.settle(email, True, "already: not a Zendesk user")
            if create:  # new users get the tag as they are created: one job, not a creation and an update
                batch.stage, batch.job_emails = "create", create
                return self._submit(
                    "POST",
                    "/api/v2/users/create_many",
                    {"users": [{**self._new_user(e), "tags": [self.tag]} for e in create]},
                )
            batch.stage = "read"
        if batch.stage == "recreate":  # create_many refused some (the search index lagged: they exist)
            return self._submit(
                "POST", "/api/v2/users/create_or_update_many", {"users": [self._new_user(e) for e in batch.job_emails]}
            )
        if batch.stage == "read":
            body = self._tag_updates(batch)
            if not body:
                batch.stage = "done"
                return None
            batch.stage = "update"
            return self._submit("PUT", "/api/v2/users/update_many", {"users": body})
        return None

    def _absorb(self, batch: _Batch, status: Mapping[str, Any]) -> None:
        """Take a finished job's results into the batch and move it on."""
        given = status.get("results")
        results: list[Any] = given if isinstance(given, list) else []
        whole = (
            None
            if status.get("status") == "completed"
            else f"job {status.get('status')}: {status.get('message') or 'no message'}"
        )
        if batch.stage == "create":
            refused = []
            for position, result in enumerate(results):
                index = result.get("index", position)
                if not isinstance(index, int) or not 0 <= index < len(batch.job_emails):
                    continue
                email = batch.job_emails[index]
                if job_error(result) or not isinstance(result.get("id"), int):
                    refused.append(email)
                    continue
                batch.ids[email] = result["id"]
                batch.settle(email, True, "created and granted")
            refused += [e for e in batch.job_emails if e not in batch.ids and e not in refused]
            batch.stage, batch.job_emails = ("recreate", refused) if refused else ("read", [])
            return
        if batch.stage == "recreate":
            for position, result in enumerate(results):
                index = result.get("index", position)
                if not isinstance(index, int) or not 0 <= index < len(batch.job_emails):
                    continue
                email, error = batch.job_emails[index], job_error(result)
                if error or not isinstance(result.get("id"), int):
                    batch.settle(email, False, f"creating the user failed: {error or 'no user id'}")
                    continue
                batch.ids[email] = result["id"]
                if result.get("action") == "create" or str(result.get("status", "")).lower() == "created":
                    batch.fresh.add(result["id"])
            for email in batch.job_emails:
                if email not in batch.ids:
                    batch.settle(email, False, whole or "creating the user failed: no result")
            batch.stage = "read"
            return
        by_id = {r.get("id"): r for r in results if isinstance(r, Mapping)}
        emails = {uid: email for email, uid in batch.ids.items()}
        for uid, done in batch.job_users.items():
            result = by_id.get(uid)
            error = job_error(result) if result is not None else (whole or "no result for this user")
            batch.settle(emails[uid], error is None, done if error is None else error)
        batch.stage = "done"

    @staticmethod
    def _wanted(batch: _Batch, email: str) -> str:
        """What the batch's last change for `email` wants (grant or revoke)."""
        return next(c.action for c in reversed(batch.changes) if c.email.strip().lower() == email)

    def _tag_updates(self, batch: _Batch) -> list[dict[str, Any]]:
        """Per-user `{id, tags}` bodies for what must change; settles what is already right."""
        open_emails = [e for e in batch.open_emails() if e in batch.ids]
        unread = [batch.ids[e] for e in open_emails if batch.ids[e] not in batch.fresh]
        current = self._tags_by_id(unread)
        body = []
        batch.job_users = {}
        for email in open_emails:
            uid = batch.ids[email]
            if uid not in batch.fresh and uid not in current:
                batch.settle(email, False, f"user {uid} could not be read back")
                continue
            tags = [] if uid in batch.fresh else current[uid]
            want = self._wanted(batch, email)
            has = self.tag in tags
            if want == GRANT and has or want == REVOKE and not has:
                batch.settle(email, True, "already")
                continue
            new = sorted({*tags, self.tag}) if want == GRANT else [t for t in tags if t != self.tag]
            body.append({"id": uid, "tags": new})
            batch.job_users[uid] = (
                ("created and granted" if uid in batch.fresh else "granted") if want == GRANT else "revoked"
            )
        return body

    def lookup(self, emails: Sequence[str]) -> dict[str, int]:
        """User ids by lower-case e-mail, for the e-mails that have a user (users/search)."""
        found: dict[str, int] = {}
        for chunk in _query_chunks(emails):
            wanted = set(chunk)
            query = " ".join(f"email:{e}" for e in chunk)
            for page in range(1, MAX_LOOKUP_PAGES + 1):
                params = {"query": query, "per_page": str(BATCH), "page": str(page)}
                answer = self.api.call("GET", f"/api/v2/users/search?{urlencode(params)}") or {}
                for user in answer.get("users") or []:
                    email = str(user.get("email") or "").strip().lower()
                    if email in wanted and isinstance(user.get("id"), int):
                        found[email] = user["id"]
                if not answer.get("next_page") or wanted <= found.keys():
                    break
        return found

    def _tags_by_id(self, ids: Sequence[int]) -> dict[int, list[str]]:
        """Each user's tags as they are now (users/show_many, 100 ids a call)."""
        tags: dict[int, list[str]] = {}
        for i in range(0, len(ids), BATCH):
            chunk = ",".join(map(str, ids[i : i + BATCH]))
            answer = self.api.call("GET", f"/api/v2/users/show_many?{urlencode({'ids': chunk}, safe=',')}") or {}
            for user in answer.get("users") or []:
                if isinstance(user.get("id"), int):
                    tags[user["id"]] = [str(t) for t in user.get("tags") or []]
        return tags

    def _new_user(self, email: str) -> dict[str, Any]:
        """A new end user as create_or_update_many takes it: no tags (added once read back), no
        verification e-mail, the name from the address (Zendesk requires one)."""
        return {"email": email, "name": email.split("@")[0], "skip_verify_email": True}

    def _submit(self, method: str, path: str, body: Mapping[str, Any]) -> str:
        """Queue a bulk job; its id."""
        answer = self.api.call(method, path, body) or {}
        job = (answer.get("job_status") or {}).get("id")
        if not job:
            raise PlatformError(f"{method} {path}: no job_status id in the answer")
        return str(job)

    def _job_statuses(self, ids: Sequence[str]) -> dict[str, Mapping[str, Any]]:
        """The jobs' statuses by id, in one call (job_statuses/show_many)."""
        answer = (
            self.api.call("GET", f"/api/v2/job_statuses/show_many?{urlencode({'ids': ','.join(ids)}, safe=',')}") or {}
        )
        return {str(j.get("id")): j for j in answer.get("job_statuses") or [] if isinstance(j, Mapping)}


def _query_chunks(emails: Iterable[str]) -> Iterator[list[str]]:
    """E-mails in groups whose `email:` query stays under MAX_QUERY_CHARS."""
    chunk: list[str] = []
    size = 0
    for email in emails:
        cost = len(email) + 7
        if chunk and size + cost > MAX_QUERY_CHARS:
            yield chunk
            chunk, size = [], 0
        chunk.append(email)
        size += cost
    if chunk:
        yield chunk
