"""The durable webhook event store: stored before the answer, claimed by workers with a lease.

Statuses: `pending` (waiting, maybe backing off until `next_attempt_at`), `processing` (leased
to a worker until `lease_until`, renewed by the worker's heartbeat; an expired lease is claimable
again, so a worker killed with -9 loses nothing), `done`, `failed` (dead-lettered with its last
error; `replay` makes it pending). Per ticket, only the oldest unfinished event is claimable, and
none while another event of the ticket is leased: two events of one ticket never race.

Several processes share one PostgreSQL database, so moments that are compared come from the
database's clock (`now()`), never from each host's: a claim, a lease, a retry time and a receipt
are all stamped there (on SQLite, one host, the host's clock is the database's). A claim is one
statement: `UPDATE ... WHERE id = (SELECT ... ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
RETURNING`, over a partial index of the unfinished events only, so its cost follows the backlog,
not the history. It also records the ticket's newest unfinished event id (`covers_through`):
the ticket is read after the claim, so that read saw every event up to the watermark.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from connector.core.events import TicketEvent
from connector.storage.moments import utc, utcnow
from connector.storage.tables import metadata

UNFINISHED = ("pending", "processing")
_UNFINISHED_SQL = sa.text("status IN ('pending', 'processing')")
_FINISHED_SQL = sa.text("status IN ('done', 'failed')")
_LEASED_SQL = sa.text("status = 'processing'")

events = sa.Table(
    "events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("platform", sa.String(64), nullable=False),
    sa.Column("delivery_id", sa.String(200), nullable=False),
    sa.Column("ticket_id", sa.String(200), nullable=False),
    sa.Column("kind", sa.String(200), nullable=False),
    sa.Column("occurred_at", sa.DateTime(timezone=True)),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("body", sa.LargeBinary, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("first_failed_at", sa.DateTime(timezone=True)),
    sa.Column("lease_owner", sa.String(100)),
    sa.Column("lease_until", sa.DateTime(timezone=True)),
    sa.Column("last_error", sa.Text),
    sa.Column("result", sa.Text),
    sa.Column("finished_at", sa.DateTime(timezone=True)),
    sa.Column("covers_through", sa.Integer),  # the claim's watermark: see the module docstring
    sa.UniqueConstraint("platform", "delivery_id", name="uq_events_delivery"),
    # as migration 0004 creates them
    sa.Index("ix_events_unfinished", "id", postgresql_where=_UNFINISHED_SQL, sqlite_where=_UNFINISHED_SQL),
    sa.Index(
        "ix_events_ticket_unfinished",
        "platform",
        "ticket_id",
        "id",
        postgresql_where=_UNFINISHED_SQL,
        sqlite_where=_UNFINISHED_SQL,
    ),
    sa.Index("ix_events_leased", "lease_until", postgresql_where=_LEASED_SQL, sqlite_where=_LEASED_SQL),
    sa.Index("ix_events_finished", "status", "finished_at", postgresql_where=_FINISHED_SQL, sqlite_where=_FINISHED_SQL),
)


@dataclass(frozen=True)
class StoredEvent:
    """One row of the event store (`claimed_at`: the database's clock when it was claimed)."""

    id: int
    platform: str
    delivery_id: str
    ticket_id: str
    kind: str
    received_at: datetime
    status: str
    attempts: int
    body: bytes
    last_error: str | None = None
    result: dict[str, Any] | None = None
    first_failed_at: datetime | None = None
    next_attempt_at: datetime | None = None
    covers_through: int | None = None
    claimed_at: datetime | None = None

    @classmethod
    def from_row(cls, row: Any) -> StoredEvent:
        """From a database row."""
        return cls(
            row.id,
            row.platform,
            row.delivery_id,
            row.ticket_id,
            row.kind,
            utc(row.received_at),
            row.status,
            row.attempts,
            bytes(row.body),
            row.last_error,
            json.loads(row.result) if row.result else None,
            utc(row.first_failed_at),
            utc(row.next_attempt_at),
            row.covers_through,
            utc(row._mapping.get("db_now")) if "db_now" in row._mapping else None,
        )


def _unfinished(status: sa.ColumnElement[str]) -> sa.ColumnElement[bool]:
    """`status IN ('pending', 'processing')` with the values written out, not bound: only then can
    SQLite and PostgreSQL prove that the partial indexes' condition holds and use them."""
    return status.in_([sa.literal_column(f"'{value}'") for value in UNFINISHED])


def _moment(postgres: bool) -> sa.ColumnElement[datetime]:
    """The moment a statement compares with: the `now` parameter given (tests), else the database's
    clock. SQLite has no time type to compute with: the caller always gives `now` there."""
    given = sa.bindparam("now", type_=sa.DateTime(timezone=True))
    return sa.func.coalesce(given, sa.func.now(), type_=sa.DateTime(timezone=True)) if postgres else given


@lru_cache(maxsize=4)
def _claim_statement(postgres: bool) -> sa.Update:
    """The one-statement claim (built once per dialect; see the module docstring)."""
    e, o, w = events.alias("e"), events.alias("o"), events.alias("w")
    now = _moment(postgres)
    ready = sa.or_(
        sa.and_(e.c.status == "pending", e.c.next_attempt_at <= now),
        sa.and_(e.c.status == "processing", e.c.lease_until <= now),
    )
    blocked = sa.exists().where(
        o.c.platform == e.c.platform,
        o.c.ticket_id == e.c.ticket_id,
        o.c.id != e.c.id,
        _unfinished(o.c.status),
        sa.or_(o.c.id < e.c.id, sa.and_(o.c.status == "processing", o.c.lease_until > now)),
    )
    candidate = sa.select(e.c.id).where(_unfinished(e.c.status), ready, ~blocked).order_by(e.c.id).limit(1)
    if postgres:  # SQLite serialises writers: its UPDATE holds the write lock while it picks the row
        candidate = candidate.with_for_update(skip_locked=True, of=e)
    else:  # SQLite's planner would rather sort every pending event than walk the index in id order
        candidate = candidate.with_hint(e, "INDEXED BY ix_events_unfinished", "sqlite")
    watermark = (
        sa.select(sa.func.max(w.c.id))
        .where(w.c.platform == events.c.platform, w.c.ticket_id == events.c.ticket_id, _unfinished(w.c.status))
        .scalar_subquery()
    )
    until = (
        now + sa.bindparam("lease", type_=sa.Interval())
        if postgres
        else sa.bindparam("until", type_=sa.DateTime(timezone=True))
    )
    return (
        events.update()
        .where(events.c.id == candidate.scalar_subquery())
        .values(status="processing", lease_owner=sa.bindparam("owner"), lease_until=until, covers_through=watermark)
        .returning(*events.c, now.label("db_now"))
    )


class EventStore:
    """The event table's operations; every change is one short transaction (or part of the
    worker's unit of work, when given its connection)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.postgres = engine.dialect.name == "postgresql"

    def _at(self, now: datetime | None) -> Any:
        """`now` as a value for a statement: the given moment, else the database's clock."""
        if now is not None:
            return now
        return sa.func.now() if self.postgres else utcnow()

    def add(self, event: TicketEvent, body: bytes, now: datetime | None = None) -> tuple[int, bool]:
        """Store a delivery; (id, True) when new, (id of the earlier one, False) for a duplicate.
        A connection the database dropped (a restart) is retried once on a fresh one."""
        for attempt in (1, 2):
            try:
                return self._add(event, body, self._at(now))
            except sa.exc.DBAPIError as exc:
                if attempt == 2 or not exc.connection_invalidated:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _add(self, event: TicketEvent, body: bytes, at: Any) -> tuple[int, bool]:
        row = dict(
            platform=event.platform,
            delivery_id=event.delivery_id,
            ticket_id=event.ticket_id,
            kind=event.kind,
            occurred_at=event.occurred_at,
            received_at=at,
            body=body,
            status="pending",
            attempts=0,
            next_attempt_at=at,
        )
        dialect = postgresql if self.postgres else sqlite
        insert = dialect.insert(events).values(**row).on_conflict_do_nothing().returning(events.c.id)
        with self.engine.begin() as conn:  # a duplicate costs no error and no rollback
            new = conn.execute(insert).scalar()
            if new is not None:
                return new, True
            return conn.execute(
                sa.select(events.c.id).where(
                    events.c.platform == event.platform, events.c.delivery_id == event.delivery_id
                )
            ).scalar_one(), False

    def claim(self, owner: str, now: datetime | None, lease: timedelta) -> StoredEvent | None:
        """Lease the oldest claimable event to `owner` for `lease`, or None if there is none;
        `now` None is the database's clock (the claimed event's `claimed_at` says what it was)."""
        params: dict[str, Any] = {"owner": owner}
        if self.postgres:
            params.update(now=now, lease=lease)
        else:
            at = now or utcnow()
            params.update(now=at, until=at + lease)
        with self.engine.begin() as conn:
            row = conn.execute(_claim_statement(self.postgres), params).one_or_none()
        return StoredEvent.from_row(row) if row is not None else None

    def renew(self, held: Sequence[tuple[int, str]], lease: timedelta, now: datetime | None = None) -> set[int]:
        """The heartbeat: extend the leases of the (event id, owner) pairs still held by those
        owners to `lease` from now; the ids renewed (a missing one was lost)."""
        if not held:
            return set()
        at = self._at(now)
        mine = sa.or_(*(sa.and_(events.c.id == event_id, events.c.lease_owner == owner) for event_id, owner in held))
        query = (
            events.update()
            .where(events.c.status == "processing", mine)
            .values(lease_until=at + lease)
            .returning(events.c.id)
        )
        with self.engine.begin() as conn:
            return set(conn.execute(query).scalars())

    def _settle(self, conn: sa.Connection, event_id: int, owner: str, **values: Any) -> bool:
        query = (
            events.update()
            .where(events.c.id == event_id, events.c.lease_owner == owner, events.c.status == "processing")
            .values(lease_owner=None, lease_until=None, **values)
        )
        return bool(conn.execute(query).rowcount)

    def _run(self, conn: sa.Connection | None, work: Callable[[sa.Connection], bool]) -> bool:
        if conn is not None:
            return work(conn)
        with self.engine.begin() as own:
            return work(own)

    def finish(
        self,
        event: StoredEvent,
        owner: str,
        result: dict[str, Any],
        now: datetime | None = None,
        conn: sa.Connection | None = None,
    ) -> bool:
        """Mark done with its result; the ticket's later pending events up to the claim's
        watermark are done too (the ticket was read after the claim: that read saw them).
        False when the lease was lost. On `conn` (the worker's unit), else a transaction of its own."""
        at = self._at(now)

        def settle(c: sa.Connection) -> bool:
            done = self._settle(
                c,
                event.id,
                owner,
                status="done",
                result=json.dumps(result, default=str),
                finished_at=at,
                last_error=None,
            )
            if done and event.covers_through is not None and event.covers_through > event.id:
                c.execute(
                    events.update()
                    .where(
                        events.c.platform == event.platform,
                        events.c.ticket_id == event.ticket_id,
                        _unfinished(events.c.status),
                        events.c.status == "pending",
                        events.c.id > event.id,
                        events.c.id <= event.covers_through,
                        events.c.attempts == 0,
                    )
                    .values(status="done", finished_at=at, result=json.dumps({"covered_by": event.id}))
                )
            return done

        return self._run(conn, settle)

    def retry(self, event: StoredEvent, owner: str, error: str, after: timedelta, now: datetime | None = None) -> bool:
        """Back to pending for `after` from now (the database's clock unless `now`), counting the attempt."""
        at = self._at(now)
        return self._run(
            None,
            lambda c: self._settle(
                c,
                event.id,
                owner,
                status="pending",
                attempts=event.attempts + 1,
                next_attempt_at=at + after,
                last_error=error,
                first_failed_at=sa.func.coalesce(events.c.first_failed_at, at),
            ),
        )

    def dead_letter(self, event: StoredEvent, owner: str, error: str, now: datetime | None = None) -> bool:
        """Give up on the event: failed, with its last error, until replayed."""
        at = self._at(now)
        return self._run(
            None,
            lambda c: self._settle(
                c,
                event.id,
                owner,
                status="failed",
                attempts=event.attempts + 1,
                last_error=error,
                first_failed_at=sa.func.coalesce(events.c.first_failed_at, at),
                finished_at=at,
            ),
        )

    def replay(self, ids: Iterable[int] | None, now: datetime | None = None) -> int:
        """Make the given failed events (all failed ones for None) pending again."""
        query = events.update().where(events.c.status == "failed")
        if ids is not None:
            query = query.where(events.c.id.in_(list(ids)))
        with self.engine.begin() as conn:
            return conn.execute(
                query.values(
                    status="pending", attempts=0, first_failed_at=None, next_attempt_at=self._at(now), finished_at=None
                )
            ).rowcount

    def prune(
        self,
        older_than: timedelta,
        statuses: Sequence[str] = ("done",),
        batch: int = 1000,
        stopping: Callable[[], bool] = lambda: False,
        now: datetime | None = None,
    ) -> int:
        """Delete events of `statuses` that finished more than `older_than` ago, `batch` rows a
        transaction (so a large history never holds long locks); how many were deleted."""
        if set(statuses) - {"done", "failed"}:
            raise ValueError("only done and failed events are pruned")
        cut = self._at(now) - older_than
        finished = events.c.status.in_([sa.literal_column(f"'{s}'") for s in ("done", "failed")])  # the index's
        doomed = (
            sa.select(events.c.id)
            .where(finished, events.c.status.in_(list(statuses)), events.c.finished_at < cut)
            .limit(batch)
            .scalar_subquery()
        )
        total = 0
        while not stopping():
            with self.engine.begin() as conn:
                deleted = conn.execute(events.delete().where(events.c.id.in_(doomed))).rowcount
            total += deleted
            if deleted < batch:
                break
        return total

    def list(self, status: str | None = None, limit: int = 100) -> list[StoredEvent]:
        """Events, newest first, optionally of one status."""
        query = events.select().order_by(events.c.id.desc()).limit(limit)
        if status:
            query = query.where(events.c.status == status)
        with self.engine.connect() as conn:
            return [StoredEvent.from_row(r) for r in conn.execute(query)]

    def get(self, event_id: int) -> StoredEvent | None:
        """One event by id."""
        with self.engine.connect() as conn:
            row = conn.execute(events.select().where(events.c.id == event_id)).one_or_none()
        return StoredEvent.from_row(row) if row else None

    def counts(self) -> dict[str, int]:
        """How many events are in each status (reads the whole table: for tools, not probes)."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(events.c.status, sa.func.count()).group_by(events.c.status))
            return {status: n for status, n in rows}

    def backlog(self, cap: int | None = None) -> dict[str, int]:
        """Pending, processing and failed counts, each from an index that holds only those rows
        (cheap however long the history); each at most `cap` when given, so that a probe costs
        the same with a backlog of 30,000 (what `/healthz` answers from)."""
        e = events.c
        finished = e.status.in_([sa.literal_column("'done'"), sa.literal_column("'failed'")])

        def count(*where: sa.ColumnElement[bool]) -> sa.ScalarSelect[int]:
            rows = sa.select(sa.literal(1)).select_from(events).where(*where)
            if cap is not None:
                rows = rows.limit(cap)
            return sa.select(sa.func.count()).select_from(rows.subquery()).scalar_subquery()

        query = sa.select(
            count(_unfinished(e.status), e.status == "pending").label("pending"),
            count(e.status == sa.literal_column("'processing'")).label("processing"),
            count(finished, e.status == "failed").label("failed"),
        )
        with self.engine.connect() as conn:
            return dict(conn.execute(query).one()._mapping)
