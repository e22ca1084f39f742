"""The audit of every closed-KB grant and revoke and every portal registration (append-only)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from connector.core.kb_access import AccessChange
from connector.storage.moments import utc
from connector.storage.tables import metadata
from connector.storage.unit import reading

access_audit = sa.Table(
    "access_audit",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("platform", sa.String(64), nullable=False),
    sa.Column("email", sa.String(320), nullable=False),
    sa.Column("customer_id", sa.String(200)),
    sa.Column("action", sa.String(16), nullable=False),  # grant, revoke, register
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("since", sa.Date),
    sa.Column("until", sa.Date),
    sa.Column("result", sa.String(16), nullable=False),  # done, failed, dry_run
    sa.Column("detail", sa.Text),
    sa.Column("origin", sa.String(32), nullable=False),  # sync, ticket, scheduler
    sa.Column("run_id", sa.String(64)),
    sa.Column("lever", sa.String(16), nullable=False, server_default="kb"),  # kb, or mailing (the mailing tag)
)


@dataclass(frozen=True)
class AuditEntry:
    """One recorded grant, revoke or registration."""

    id: int
    at: datetime
    platform: str
    email: str
    customer_id: str | None
    action: str
    reason: str
    since: date | None
    until: date | None
    result: str
    detail: str | None
    origin: str
    run_id: str | None
    lever: str = "kb"

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {k: (v.isoformat() if isinstance(v, (date, datetime)) else v) for k, v in self.__dict__.items()}


class AccessAudit:
    """The audit log of KB access and portal registration (append-only)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def record(
        self,
        platform: str,
        entries: Iterable[tuple[AccessChange, str, str]],
        at: datetime,
        origin: str,
        run_id: str | None = None,
        lever: str = "kb",
    ) -> int:
        """Append (change, result, detail) entries of `lever` in one transaction; how many were written."""
        at = utc(at)  # stored as UTC: SQLite keeps no offset, so every moment must be in one zone
        rows = [
            {
                "at": at,
                "platform": platform,
                "email": c.email,
                "customer_id": c.customer,
                "action": c.action,
                "reason": c.reason,
                "since": c.since,
                "until": c.until,
                "result": result,
                "detail": detail or None,
                "origin": origin,
                "run_id": run_id,
                "lever": lever,
            }
            for c, result, detail in entries
        ]
        if rows:
            with self.engine.begin() as conn:
                conn.execute(access_audit.insert(), rows)
        return len(rows)

    def last_done(self, platform: str, email: str, actions: Sequence[str], lever: str = "kb") -> str | None:
        """The latest of `actions` on `lever` done for `email` on `platform` (what the connector last made true)."""
        a = access_audit.c
        query = (
            sa.select(a.action)
            .where(
                a.platform == platform,
                a.email == email.strip().lower(),
                a.result == "done",
                a.action.in_(list(actions)),
                a.lever == lever,
            )
            .order_by(a.id.desc())
            .limit(1)
        )
        with reading(self.engine) as conn:
            return conn.execute(query).scalar()

    def failed_last(self, platform: str, action: str) -> list[AuditEntry]:
        """Per e-mail, the latest `action` on `platform` when it failed (what is still to do)."""
        a = access_audit.c
        latest = (
            sa.select(a.email, sa.func.max(a.id).label("last"))
            .where(a.platform == platform, a.action == action)
            .group_by(a.email)
            .subquery()
        )
        query = sa.select(access_audit).join(latest, a.id == latest.c.last).where(a.result == "failed").order_by(a.id)
        with self.engine.connect() as conn:
            return [AuditEntry(**{**row, "at": utc(row["at"])}) for row in conn.execute(query).mappings()]

    def entries(
        self,
        customer: str | None = None,
        since: datetime | None = None,
        email: str | None = None,
        platform: str | None = None,
        limit: int | None = None,
    ) -> Iterator[AuditEntry]:
        """Entries, oldest first, filtered by customer, e-mail, platform and time."""
        a = access_audit.c
        query = sa.select(access_audit).order_by(a.at, a.id)  # by time: a batch is recorded after its changes
        if customer is not None:
            query = query.where(a.customer_id == customer)
        if since is not None:
            query = query.where(a.at >= utc(since))
        if email is not None:
            query = query.where(a.email == email.strip().lower())
        if platform is not None:
            query = query.where(a.platform == platform)
        if limit is not None:
            query = query.order_by(None).order_by(a.at.desc(), a.id.desc()).limit(limit)
        with self.engine.connect() as conn:
            rows = [AuditEntry(**{**row, "at": utc(row["at"])}) for row in conn.execute(query).mappings()]
        if limit is not None:
            rows.reverse()
        yield from rows
