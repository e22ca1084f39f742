"""The KB sync: every registry contact's desired access against what the platform has now, as a
plan of grants and revokes, applied in bulk with every outcome audited as it lands. The same
sync keeps the information mailing's tag (a `Lever` says what is wanted, who holds it, how to
change it): one planner, one applier, one audit for both.

A sync is resumable by design: it always plans against the platform's own list of holders, so
after a failure half-way the next run plans only what is still missing; nothing is granted twice.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import partial
from typing import Any

from sqlalchemy.engine import Engine

from connector.core.entitlement import Rulebook
from connector.core.errors import BadInput, ConnectorError, PlatformError
from connector.core.kb_access import GRANT, REGISTER, REVOKE, AccessChange, Desired, plan_access
from connector.core.policy import Policy
from connector.platforms.base import AccessOutcome, Adapter
from connector.storage.kb_audit import AccessAudit
from connector.storage.mailing import desired_mailing
from connector.storage.moments import utcnow
from connector.storage.people import contact_details, customer_name, desired_access

AUDIT_EVERY = 100  # outcomes recorded per transaction while applying


@dataclass(frozen=True)
class Lever:
    """What a sync keeps right: its name (the adapter capability and the audit's `lever`), who
    should hold it on a day, who holds it on the platform, and how grants and revokes are applied."""

    name: str
    title: str
    desired: Callable[[Engine, date, Policy], list[Desired]]
    holders: Callable[[Adapter], set[str]]
    apply: Callable[[Adapter, Sequence[AccessChange]], Iterator[AccessOutcome]]


KB = Lever("kb", "closed-KB access", desired_access, lambda a: a.kb_holders(), lambda a, c: a.apply_access(c))
MAILING = Lever(
    "mailing", "mailing tag", desired_mailing, lambda a: a.mailing_holders(), lambda a, c: a.apply_mailing(c)
)


def plan(engine: Engine, rules: Rulebook, adapter: Adapter, day: date, lever: Lever = KB) -> list[AccessChange]:
    """The changes that make `adapter`'s platform match the registry on `day`."""
    return plan_access(lever.desired(engine, day, rules.policy), lever.holders(adapter))


@dataclass
class SyncReport:
    """What one platform's sync planned and did."""

    platform: str
    run_id: str
    dry_run: bool
    plan: list[AccessChange] = field(default_factory=list)
    granted: int = 0
    revoked: int = 0
    registered: int = 0  # portal registrations that had failed on a ticket, done now
    already: int = 0
    failed: list[tuple[AccessChange, str]] = field(default_factory=list)
    seconds: float = 0.0
    error: str | None = None  # why the sync stopped half-way, if it did
    lever: str = "kb"

    @property
    def label(self) -> str:
        """The platform, and the lever when it is not the KB."""
        return self.platform if self.lever == "kb" else f"{self.platform} {self.lever}"

    @property
    def grants(self) -> int:
        """Grants in the plan."""
        return sum(c.action == GRANT for c in self.plan)

    @property
    def revokes(self) -> int:
        """Revokes in the plan."""
        return sum(c.action == REVOKE for c in self.plan)

    def summary(self) -> str:
        """One line for people."""
        if self.dry_run:
            return (
                f"{self.label}: would grant {self.grants}, revoke {self.revokes}"
                f" ({len(self.plan)} change(s); dry run, nothing applied)"
            )
        done = (
            f"{self.label}: granted {self.granted}, revoked {self.revoked}, already right {self.already},"
            f" failed {len(self.failed)} of {len(self.plan)} planned in {self.seconds:.1f} s (run {self.run_id})"
        )
        if self.registered:
            done += f"; {self.registered} portal registration(s) that had failed done now"
        return done + (f"; STOPPED: {self.error}" if self.error else "")

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready summary (the plan only in a dry run)."""
        doc = {
            "platform": self.platform,
            "lever": self.lever,
            "run_id": self.run_id,
            "dry_run": self.dry_run,
            "grants": self.grants,
            "revokes": self.revokes,
            "granted": self.granted,
            "revoked": self.revoked,
            "already": self.already,
            "registered": self.registered,
            "seconds": round(self.seconds, 3),
            "failed": [{"email": c.email, "action": c.action, "error": e} for c, e in self.failed],
            "error": self.error,
        }
        if self.dry_run:
            doc["plan"] = [
                {
                    "email": c.email,
                    "action": c.action,
                    "customer": c.customer,
                    "reason": c.reason,
                    "since": c.since and c.since.isoformat(),
                    "until": c.until and c.until.isoformat(),
                }
                for c in self.plan
            ]
        return doc


def apply(
    adapter: Adapter,
    changes: Sequence[AccessChange],
    audit: AccessAudit,
    report: SyncReport,
    origin: str,
    progress: Callable[[int, int], None] = lambda _d, _t: None,
    clock: Callable[[], datetime] = utcnow,
    lever: Lever = KB,
) -> SyncReport:
    """Apply `changes`, recording every outcome (in groups, as batches complete). A platform
    failure half-way records what was done, then sets `report.error` (the caller decides)."""
    pending: list[tuple[AccessChange, str, str]] = []
    seen = 0

    def flush() -> None:
        audit.record(adapter.name, pending, clock(), origin, report.run_id, lever.name)
        pending.clear()

    try:
        for outcome in lever.apply(adapter, changes):
            seen += 1
            change = outcome.change
            if not outcome.ok:
                report.failed.append((change, outcome.detail or "failed"))
            elif outcome.detail == "already":
                report.already += 1
            elif change.action == GRANT:
                report.granted += 1
            else:
                report.revoked += 1
            pending.append((change, "done" if outcome.ok else "failed", outcome.detail))
            if len(pending) >= AUDIT_EVERY:
                flush()
                progress(seen, len(changes))
    except (PlatformError, ConnectorError) as exc:
        report.error = (
            f"{exc}; {seen} of {len(changes)} change(s) were applied and recorded:"
            " run the sync again to resume (it plans against the platform's current state)"
        )
    finally:
        flush()
        progress(seen, len(changes))
    return report


def sync_platform(
    engine: Engine,
    rules: Rulebook,
    adapter: Adapter,
    dry_run: bool = False,
    origin: str = "sync",
    now: datetime | None = None,
    progress: Callable[[int, int], None] = lambda _d, _t: None,
    lever: Lever = KB,
) -> SyncReport:
    """Plan (and unless `dry_run`, apply) one platform's KB access (or other `lever`)."""
    if lever.name not in adapter.supports:
        raise BadInput(f"{adapter.title} has no {lever.title} lever in the connector (or its options leave it off)")
    started = time.perf_counter()
    report = SyncReport(
        adapter.name, f"{origin}-{uuid.uuid4().hex[:12]}", dry_run or adapter.settings.dry_run, lever=lever.name
    )
    try:
        report.plan = plan(engine, rules, adapter, rules.today(now or utcnow()), lever)
    except PlatformError as exc:  # who holds it now could not be read: nothing was planned or done
        report.error = f"cannot read who holds it on {adapter.title}: {exc}; nothing was changed"
        report.seconds = time.perf_counter() - started
        return report
    audit = AccessAudit(engine)
    if not report.dry_run and report.plan:
        apply(adapter, report.plan, audit, report, origin, progress, lever=lever)
    if lever is KB and not report.dry_run and report.error is None and "portal" in adapter.supports:
        retry_registrations(engine, adapter, audit, report, origin, now or utcnow())
    report.seconds = time.perf_counter() - started
    return report


def retry_registrations(
    engine: Engine, adapter: Adapter, audit: AccessAudit, report: SyncReport, origin: str, now: datetime
) -> None:
    """Portal registrations whose last attempt (on a ticket) failed, tried again; each audited."""
    for entry in audit.failed_last(adapter.name, REGISTER):
        change = AccessChange(entry.email, REGISTER, entry.reason, entry.customer_id, entry.since, entry.until)
        name, org = contact_details(engine, entry.email, entry.customer_id or "", adapter.name)
        try:
            detail = adapter.register_portal_user(
                entry.email, name, entry.customer_id or "", customer_name(engine, entry.customer_id), org
            )
        except ConnectorError as exc:
            audit.record(adapter.name, [(change, "failed", str(exc))], now, origin, report.run_id)
            report.failed.append((change, str(exc)))
            continue
        audit.record(adapter.name, [(change, "done", detail or "already")], now, origin, report.run_id)
        report.registered += 1


def sync_all(
    engine: Engine,
    rules: Rulebook,
    adapters: Mapping[str, Adapter],
    access: Mapping[str, Any],
    origin: str = "scheduler",
    dry_run: bool = False,
    progress: Callable[[str, int, int], None] | None = None,
) -> list[SyncReport]:
    """Sync every platform that has a KB lever (when the config's `[access] kb` is on), and the
    mailing tag of every platform that keeps one."""
    levers = [KB] if access.get("kb", True) else []
    dry_run = dry_run or bool(access.get("dry_run"))
    reports = []
    for lever in (*levers, MAILING):
        for name, adapter in sorted(adapters.items()):
            if lever.name not in adapter.supports:
                continue
            step = partial(progress, name) if progress else (lambda _d, _t: None)
            reports.append(sync_platform(engine, rules, adapter, dry_run, origin, progress=step, lever=lever))
    return reports
