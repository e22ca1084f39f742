"""The durable webhook event store: stored before the answer, claimed by workers with a lease.

Statuses: `pending` (waiting, maybe backing off until `next_attempt_at`), `processing` (leased
to a worker until `lease_until`; an expired lease is claimable again, so a worker killed with -9
loses nothing), `done`, `failed` (dead-lettered with its last error; `replay` makes it pending).
Per ticket, only the oldest unfinished event is claimable: two events of one ticket never race.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from connector.core.events import TicketEvent
from connector.storage.moments import utc
from connector.storage.tables import metadata

UNFINISHED = ("pending", "processing")

events = sa.Table(
    "events", metadata,
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
    sa.UniqueConstraint("platform", "delivery_id", name="uq_events_delivery"),
)


def _claimable() -> sa.ColumnElement[bool]:
    """Ready (pending and due, or leased but expired) and the oldest unfinished of its ticket,
    with no live lease on that ticket; `now` is a bound parameter."""
    e, o, now = events, events.alias("o"), sa.bindparam("now", type_=sa.DateTime(timezone=True))
    blocked = sa.exists().where(
        o.c.platform == e.c.platform, o.c.ticket_id == e.c.ticket_id, o.c.id != e.c.id,
        sa.or_(sa.and_(o.c.id < e.c.id, o.c.status.in_(UNFINISHED)),
               sa.and_(o.c.status == "processing", o.c.lease_until > now)))
    ready = sa.or_(sa.and_(e.c.status == "pending", e.c.next_attempt_at <= now),
                   sa.and_(e.c.status == "processing", e.c.lease_until <= now))
    return sa.and_(ready, ~blocked)


# built once: the worker runs these for every event
_CANDIDATES = sa.select(events.c.id).where(_claimable()).order_by(events.c.id).limit(8)
_CLAIM = (events.update().where(events.c.id == sa.bindparam("event_id"), _claimable())
          .values(status="processing", lease_owner=sa.bindparam("new_owner"), lease_until=sa.bindparam("until"))
          .returning(*events.c))  # SQLite >= 3.35 and PostgreSQL: the claimed row in the same statement


@dataclass(frozen=True)
class StoredEvent:
    """One row of the event store."""

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
    result: dict | None = None
    first_failed_at: datetime | None = None
    next_attempt_at: datetime | None = None

    @classmethod
    def from_row(cls, row: Any) -> "StoredEvent":
        """From a database row."""
        return cls(row.id, row.platform, row.delivery_id, row.ticket_id, row.kind, utc(row.received_at),
                   row.status, row.attempts, bytes(row.body), row.last_error,
                   json.loads(row.result) if row.result else None, utc(row.first_failed_at),
                   utc(row.next_attempt_at))


class EventStore:
    """The event table's operations; every change is one short transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, event: TicketEvent, body: bytes, now: datetime) -> tuple[int, bool]:
        """Store a delivery; (id, True) when new, (id of the earlier one, False) for a duplicate."""
        row = dict(platform=event.platform, delivery_id=event.delivery_id, ticket_id=event.ticket_id,
                   kind=event.kind, occurred_at=event.occurred_at, received_at=now, body=body,
                   status="pending", attempts=0, next_attempt_at=now)
        try:
            with self.engine.begin() as conn:
                return conn.execute(events.insert().values(**row)).inserted_primary_key[0], True
        except sa.exc.IntegrityError:
            with self.engine.connect() as conn:
                found = conn.execute(sa.select(events.c.id).where(
                    events.c.platform == event.platform, events.c.delivery_id == event.delivery_id)).scalar()
            if found is None:
                raise
            return found, False

    def claim(self, owner: str, now: datetime, lease: timedelta) -> StoredEvent | None:
        """Lease the oldest claimable event to `owner`, or None if there is none."""
        with self.engine.connect() as conn:
            candidates = conn.execute(_CANDIDATES, {"now": now}).scalars().all()
        for event_id in candidates:
            with self.engine.begin() as conn:
                claimed = conn.execute(_CLAIM, {"event_id": event_id, "now": now, "new_owner": owner,
                                                "until": now + lease}).one_or_none()
                if claimed is not None:
                    return StoredEvent.from_row(claimed)
        return None

    def _settle(self, event_id: int, owner: str, conn: sa.Connection | None = None, **values: Any) -> bool:
        query = (events.update().where(events.c.id == event_id, events.c.lease_owner == owner,
                                       events.c.status == "processing")
                 .values(lease_owner=None, lease_until=None, **values))
        if conn is not None:
            return bool(conn.execute(query).rowcount)
        with self.engine.begin() as own:
            return bool(own.execute(query).rowcount)

    def finish(self, event: StoredEvent, owner: str, result: dict, now: datetime,
               covers_until: datetime | None = None) -> bool:
        """Mark done with its result; later pending events of the ticket received before
        `covers_until` (when the ticket was read) are done too: that read already saw them.
        One transaction: one commit per processed event."""
        with self.engine.begin() as conn:
            done = self._settle(event.id, owner, conn, status="done", result=json.dumps(result, default=str),
                                finished_at=now, last_error=None)
            if done and covers_until is not None:
                conn.execute(events.update().where(
                    events.c.platform == event.platform, events.c.ticket_id == event.ticket_id,
                    events.c.id > event.id, events.c.status == "pending", events.c.attempts == 0,
                    events.c.received_at <= covers_until)
                    .values(status="done", finished_at=now, result=json.dumps({"covered_by": event.id})))
        return done

    def retry(self, event: StoredEvent, owner: str, error: str, at: datetime, now: datetime) -> bool:
        """Back to pending until `at`, counting the attempt."""
        return self._settle(event.id, owner, status="pending", attempts=event.attempts + 1, next_attempt_at=at,
                            last_error=error, first_failed_at=event.first_failed_at or now)

    def dead_letter(self, event: StoredEvent, owner: str, error: str, now: datetime) -> bool:
        """Give up on the event: failed, with its last error, until replayed."""
        return self._settle(event.id, owner, status="failed", attempts=event.attempts + 1, last_error=error,
                            first_failed_at=event.first_failed_at or now, finished_at=now)

    def replay(self, ids: Iterable[int] | None, now: datetime) -> int:
        """Make the given failed events (all failed ones for None) pending again."""
        query = events.update().where(events.c.status == "failed")
        if ids is not None:
            query = query.where(events.c.id.in_(list(ids)))
        with self.engine.begin() as conn:
            return conn.execute(query.values(status="pending", attempts=0, first_failed_at=None,
                                             next_attempt_at=now, finished_at=None)).rowcount

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
        """How many events are in each status."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(events.c.status, sa.func.count()).group_by(events.c.status))
            return {status: n for status, n in rows}

    def queue_counts(self) -> dict[str, int]:
        """How many events wait, are being processed or failed: read through the status index, so
        the cost follows the queue, not the history of done events (the status page, each load)."""
        query = (sa.select(events.c.status, sa.func.count()).where(events.c.status.in_((*UNFINISHED, "failed")))
                 .group_by(events.c.status))
        with self.engine.connect() as conn:
            found = dict(conn.execute(query).all())
        return {status: found.get(status, 0) for status in (*UNFINISHED, "failed")}
