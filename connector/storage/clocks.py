"""The tickets' SLA clocks as last computed, the alerts fired (once per ticket, metric and
point), and the scheduler's job runs. Tables as migrations 0003 and 0004 create them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, overload

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from connector.core.alerts import StoredClock
from connector.core.errors import BadInput
from connector.core.sla import ClockState
from connector.storage.moments import utc
from connector.storage.tables import metadata
from connector.storage.unit import writing

ticket_clocks = sa.Table(
    "ticket_clocks",
    metadata,
    sa.Column("platform", sa.String(64), primary_key=True),
    sa.Column("ticket_id", sa.String(200), primary_key=True),
    sa.Column("metric", sa.String(32), primary_key=True),  # first_response or resolution
    sa.Column("state", sa.String(16), nullable=False),  # running, paused, stopped
    sa.Column("target_seconds", sa.Float),  # working seconds; None = not regulated
    sa.Column("elapsed_seconds", sa.Float, nullable=False),  # working seconds used at as_of
    sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
    sa.Column("due", sa.DateTime(timezone=True)),
    sa.Column("breached_at", sa.DateTime(timezone=True)),
    sa.Column("calendar", sa.Text, nullable=False),  # the calendar document, as JSON
    sa.Column("tier", sa.String(32)),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

sla_alerts = sa.Table(
    "sla_alerts",
    metadata,
    sa.Column("platform", sa.String(64), primary_key=True),
    sa.Column("ticket_id", sa.String(200), primary_key=True),
    sa.Column("metric", sa.String(32), primary_key=True),
    sa.Column("point", sa.String(16), primary_key=True),  # e.g. "75%" or "breach"
    sa.Column("fired_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("moment", sa.DateTime(timezone=True)),  # when the point was reached (breach: the due moment)
    sa.Column("result", sa.String(16), nullable=False),
    sa.Column("detail", sa.Text),
)

scheduler_jobs = sa.Table(
    "scheduler_jobs",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("last_started_at", sa.DateTime(timezone=True)),
    sa.Column("last_finished_at", sa.DateTime(timezone=True)),
    sa.Column("last_result", sa.Text),
    sa.Column("owner", sa.String(100)),  # the process running it (host:pid); migration 0004
    sa.Column("heartbeat_at", sa.DateTime(timezone=True)),  # the database's clock, while it runs
)

# Results in `sla_alerts`: `claimed` while a process is sending it (reclaimable once the claim is
# older than the lease: that process died); `failed` (transient platform failure) is retried on the
# next run; every other result is final: sent, unchanged (the platform had it already), dry_run,
# skipped (the platform has no alert capability), rejected (the platform refused it for good),
# superseded (a further point was reached first).
CLAIMED, FAILED = "claimed", "failed"
RETRYABLE = (FAILED,)


@overload
def _store(moment: datetime) -> datetime: ...
@overload
def _store(moment: None) -> None: ...
def _store(moment: datetime | None) -> datetime | None:
    """Moments are stored in UTC: SQLite keeps the wall time only, so every moment must be UTC."""
    return None if moment is None else moment.astimezone(UTC)


def _insert(engine: Engine, table: sa.Table) -> postgresql.Insert | sqlite.Insert:
    """The dialect's INSERT, which has ON CONFLICT (SQLite >= 3.24 and PostgreSQL)."""
    if engine.dialect.name == "postgresql":
        return postgresql.insert(table)
    elif engine.dialect.name == "sqlite":
        return sqlite.insert(table)
    else:  # pragma: no cover - the connector supports these two
        raise BadInput(f"unsupported database {engine.dialect.name!r} (SQLite or PostgreSQL)")


def _clock(row: Any) -> StoredClock:
    return StoredClock(
        platform=row.platform,
        ticket_id=row.ticket_id,
        metric=row.metric,
        state=ClockState(row.state),
        target=None if row.target_seconds is None else timedelta(seconds=row.target_seconds),
        elapsed=timedelta(seconds=row.elapsed_seconds),
        as_of=utc(row.as_of),
        due=utc(row.due),
        breached_at=utc(row.breached_at),
        calendar=row.calendar,
        tier=row.tier,
    )


@dataclass(frozen=True)
class AlertRecord:
    """One row of `sla_alerts`."""

    platform: str
    ticket_id: str
    metric: str
    point: str
    fired_at: datetime
    moment: datetime | None
    result: str
    detail: str | None


class ClockStore:
    """The stored clocks and the alerts fired on them; every change is one short transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- clocks ----------------------------------------------------------------------------
    def record(self, clocks: Iterable[StoredClock], now: datetime) -> int:
        """Insert or replace the clocks (one per ticket and metric), in one transaction (the
        worker's unit of work, when there is one: they commit with the event)."""
        rows = [
            dict(
                platform=c.platform,
                ticket_id=c.ticket_id,
                metric=c.metric,
                state=c.state.value,
                target_seconds=None if c.target is None else c.target.total_seconds(),
                elapsed_seconds=c.elapsed.total_seconds(),
                as_of=_store(c.as_of),
                due=_store(c.due),
                breached_at=_store(c.breached_at),
                calendar=c.calendar,
                tier=c.tier,
                updated_at=_store(now),
            )
            for c in clocks
        ]
        if not rows:
            return 0
        insert = _insert(self.engine, ticket_clocks)
        keys = {"platform", "ticket_id", "metric"}
        upsert = insert.on_conflict_do_update(
            index_elements=sorted(keys), set_={name: insert.excluded[name] for name in rows[0] if name not in keys}
        )
        writing(self.engine, lambda conn: [conn.execute(upsert.values(**row)) for row in rows])
        return len(rows)

    def clocks(self, platform: str, ticket_id: str) -> dict[str, StoredClock]:
        """A ticket's stored clocks by metric."""
        query = ticket_clocks.select().where(
            ticket_clocks.c.platform == platform, ticket_clocks.c.ticket_id == ticket_id
        )
        with self.engine.connect() as conn:
            return {row.metric: _clock(row) for row in conn.execute(query)}

    def open_clocks(self, platform: str | None = None) -> list[StoredClock]:
        """Clocks that are not stopped and have a target: the ones alerts can fire on."""
        query = (
            ticket_clocks.select()
            .where(ticket_clocks.c.state != "stopped", ticket_clocks.c.target_seconds.is_not(None))
            .order_by(ticket_clocks.c.platform, ticket_clocks.c.ticket_id, ticket_clocks.c.metric)
        )
        if platform is not None:
            query = query.where(ticket_clocks.c.platform == platform)
        with self.engine.connect() as conn:
            return [_clock(row) for row in conn.execute(query)]

    def open_tickets(self, platform: str | None = None) -> list[tuple[str, str]]:
        """(platform, ticket id) of the tickets whose stored clocks are not all stopped."""
        query = (
            sa.select(ticket_clocks.c.platform, ticket_clocks.c.ticket_id)
            .distinct()
            .where(ticket_clocks.c.state != "stopped")
            .order_by(ticket_clocks.c.platform, ticket_clocks.c.ticket_id)
        )
        if platform is not None:
            query = query.where(ticket_clocks.c.platform == platform)
        with self.engine.connect() as conn:
            return [(row.platform, row.ticket_id) for row in conn.execute(query)]

    # -- alerts ----------------------------------------------------------------------------
    def alerts(
        self, platform: str | None = None, ticket_id: str | None = None, open_only: bool = False
    ) -> list[AlertRecord]:
        """Alert records (of one platform or ticket; of clocks not stopped for `open_only`)."""
        a, c = sla_alerts, ticket_clocks
        query = a.select().order_by(a.c.platform, a.c.ticket_id, a.c.metric, a.c.point)
        if platform is not None:
            query = query.where(a.c.platform == platform)
        if ticket_id is not None:
            query = query.where(a.c.ticket_id == ticket_id)
        if open_only:
            query = query.where(
                sa.exists().where(
                    c.c.platform == a.c.platform,
                    c.c.ticket_id == a.c.ticket_id,
                    c.c.metric == a.c.metric,
                    c.c.state != "stopped",
                )
            )
        with self.engine.connect() as conn:
            return [
                AlertRecord(
                    r.platform, r.ticket_id, r.metric, r.point, utc(r.fired_at), utc(r.moment), r.result, r.detail
                )
                for r in conn.execute(query)
            ]

    def recent_alerts(self, limit: int = 20) -> list[AlertRecord]:
        """The latest alert records, latest first (the index on fired_at)."""
        a = sla_alerts
        with self.engine.connect() as conn:
            return [
                AlertRecord(
                    r.platform, r.ticket_id, r.metric, r.point, utc(r.fired_at), utc(r.moment), r.result, r.detail
                )
                for r in conn.execute(a.select().order_by(a.c.fired_at.desc()).limit(limit))
            ]

    def claim_alert(
        self, clock: StoredClock, point: str, moment: datetime | None, now: datetime, lease: timedelta
    ) -> bool:
        """Claim the right to act on `point` of the clock: True for exactly one caller. A new
        point is claimed by inserting its row (a key conflict: someone else has it); a `failed`
        one, or a claim older than `lease` (its process died), by a conditional update."""
        key = dict(platform=clock.platform, ticket_id=clock.ticket_id, metric=clock.metric, point=point)
        now, moment = _store(now), _store(moment)
        insert = _insert(self.engine, sla_alerts).values(**key, fired_at=now, moment=moment, result=CLAIMED)
        with self.engine.begin() as conn:
            if conn.execute(insert.on_conflict_do_nothing().returning(sla_alerts.c.point)).first() is not None:
                return True
        a = sla_alerts
        retake = (
            a.update()
            .where(
                *(a.c[name] == value for name, value in key.items()),
                sa.or_(a.c.result.in_(RETRYABLE), sa.and_(a.c.result == CLAIMED, a.c.fired_at < now - lease)),
            )
            .values(fired_at=now, moment=moment, result=CLAIMED)
        )
        with self.engine.begin() as conn:
            return conn.execute(retake).rowcount == 1

    def settle_alert(self, clock: StoredClock, point: str, result: str, detail: str | None, now: datetime) -> None:
        """Record what acting on a claimed point did."""
        a, now = sla_alerts, _store(now)
        with self.engine.begin() as conn:
            conn.execute(
                a.update()
                .where(
                    a.c.platform == clock.platform,
                    a.c.ticket_id == clock.ticket_id,
                    a.c.metric == clock.metric,
                    a.c.point == point,
                    a.c.result == CLAIMED,
                )
                .values(result=result, detail=detail, fired_at=now)
            )

    def note_alert(
        self, clock: StoredClock, point: str, moment: datetime | None, result: str, detail: str | None, now: datetime
    ) -> bool:
        """Record a point as final without acting (e.g. superseded), unless it is recorded already
        (a `failed` one is replaced); whether anything was recorded."""
        now, moment = _store(now), _store(moment)
        key = dict(platform=clock.platform, ticket_id=clock.ticket_id, metric=clock.metric, point=point)
        insert = _insert(self.engine, sla_alerts).values(
            **key, fired_at=now, moment=moment, result=result, detail=detail
        )
        a = sla_alerts
        with self.engine.begin() as conn:
            if conn.execute(insert.on_conflict_do_nothing().returning(sla_alerts.c.point)).first() is not None:
                return True
            return (
                conn.execute(
                    a.update()
                    .where(*(a.c[name] == value for name, value in key.items()), a.c.result.in_(RETRYABLE))
                    .values(fired_at=now, result=result, detail=detail)
                ).rowcount
                == 1
            )

    # -- scheduler jobs ---------------------------------------------------------------------
    def claim_job(
        self, name: str, slot: datetime, now: datetime, owner: str = "", stale: timedelta = timedelta(minutes=2)
    ) -> bool:
        """Claim the run of job `name` for the slot starting at `slot`: True for exactly one
        caller per slot, across processes (a conditional update on the job's row). A run still
        going elsewhere (its heartbeat, on the database's clock, younger than `stale`) blocks
        the claim; one whose heartbeat stopped (its process died) is taken over, even in its slot."""
        j, slot, now = scheduler_jobs, _store(slot), _store(now)
        # heartbeats are on the database's clock (SQLite's is this host's), whatever `now` says
        clock = sa.func.now() if self.engine.dialect.name == "postgresql" else _store(datetime.now(UTC))
        unfinished = sa.and_(
            j.c.last_started_at.is_not(None),
            sa.or_(j.c.last_finished_at.is_(None), j.c.last_finished_at < j.c.last_started_at),
        )
        dead = sa.or_(j.c.heartbeat_at.is_(None), j.c.heartbeat_at < clock - stale)
        claimable = sa.or_(
            j.c.last_started_at.is_(None), sa.and_(~unfinished, j.c.last_started_at < slot), sa.and_(unfinished, dead)
        )
        with self.engine.begin() as conn:
            conn.execute(_insert(self.engine, j).values(name=name).on_conflict_do_nothing())
        with self.engine.begin() as conn:
            return (
                conn.execute(
                    j.update()
                    .where(j.c.name == name, claimable)
                    .values(last_started_at=now, owner=owner or None, heartbeat_at=clock)
                ).rowcount
                == 1
            )

    def job_heartbeat(self, names: Iterable[str], owner: str, now: datetime | None = None) -> None:
        """Stamp the runs of `names` that `owner` holds as alive (the database's clock)."""
        j = scheduler_jobs
        clock = (
            _store(now)
            if now is not None
            else (sa.func.now() if self.engine.dialect.name == "postgresql" else _store(datetime.now(UTC)))
        )
        with self.engine.begin() as conn:
            conn.execute(j.update().where(j.c.name.in_(list(names)), j.c.owner == owner).values(heartbeat_at=clock))

    def job_finished(self, name: str, now: datetime, result: str) -> None:
        """Record the end of a job's run and its result (or its error)."""
        self._job(name, last_finished_at=_store(now), last_result=result)

    def _job(self, name: str, **values: Any) -> None:
        insert = _insert(self.engine, scheduler_jobs).values(name=name, **values)
        with self.engine.begin() as conn:
            conn.execute(insert.on_conflict_do_update(index_elements=["name"], set_=values))

    def jobs(self) -> dict[str, dict[str, Any]]:
        """Every job's last run: started, finished, result."""
        with self.engine.connect() as conn:
            return {
                r.name: {
                    "last_started_at": utc(r.last_started_at),
                    "last_finished_at": utc(r.last_finished_at),
                    "last_result": r.last_result,
                }
                for r in conn.execute(scheduler_jobs.select())
            }
