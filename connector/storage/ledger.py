"""The ticket ledger in the database (table as migration 0005 creates it): one upsert per processed
ticket, the rows of a customer's period for reports (read fast: 100,000 rows in well under a
second on SQLite), the latest processed tickets and the customers with tickets, for the status page."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from connector.core.ledger import LedgerEntry
from connector.storage.clocks import _insert, _store
from connector.storage.moments import utc
from connector.storage.tables import metadata

MOMENT = sa.DateTime(timezone=True)

ticket_ledger = sa.Table(
    "ticket_ledger",
    metadata,
    sa.Column("platform", sa.String(64), primary_key=True),
    sa.Column("ticket_id", sa.String(200), primary_key=True),
    sa.Column("created_at", MOMENT, nullable=False),
    sa.Column("requester_email", sa.String(320)),
    sa.Column("requester_name", sa.Text),
    sa.Column("subject", sa.Text),
    sa.Column("customer_id", sa.String(200)),
    sa.Column("customer_name", sa.Text),
    sa.Column("product", sa.String(200)),
    sa.Column("request_type", sa.String(32), nullable=False),
    sa.Column("topic", sa.String(32)),
    sa.Column("channel", sa.String(32)),
    sa.Column("tier", sa.String(32), nullable=False),
    sa.Column("contract", sa.String(200)),
    sa.Column("flags", sa.Text, nullable=False),  # flag codes separated by ";"
    sa.Column("first_response_target_seconds", sa.Float),  # working seconds; None = no target
    sa.Column("first_response_due", MOMENT),
    sa.Column("first_response_at", MOMENT),
    sa.Column("first_response_elapsed_seconds", sa.Float, nullable=False),
    sa.Column("first_response_state", sa.String(16), nullable=False),
    sa.Column("first_response_breached_at", MOMENT),
    sa.Column("resolution_target_seconds", sa.Float),
    sa.Column("resolution_due", MOMENT),
    sa.Column("resolved_at", MOMENT),
    sa.Column("resolution_paused_seconds", sa.Float, nullable=False),
    sa.Column("resolution_state", sa.String(16), nullable=False),
    sa.Column("resolution_breached_at", MOMENT),
    sa.Column("processed_at", MOMENT, nullable=False),
)

MOMENTS = (
    "created_at",
    "first_response_due",
    "first_response_at",
    "first_response_breached_at",
    "resolution_due",
    "resolved_at",
    "resolution_breached_at",
    "processed_at",
)
KEYS = ("platform", "ticket_id")


def _seconds(value: timedelta | None) -> float | None:
    return None if value is None else value.total_seconds()


def entry_row(entry: LedgerEntry) -> dict[str, Any]:
    """The table row of an entry (moments in UTC: SQLite keeps no offset)."""
    row = {
        name: getattr(entry, name)
        for name in (
            "platform",
            "ticket_id",
            "requester_email",
            "requester_name",
            "subject",
            "customer_id",
            "customer_name",
            "product",
            "request_type",
            "topic",
            "channel",
            "tier",
            "contract",
            "first_response_state",
            "resolution_state",
        )
    }
    row.update({name: _store(getattr(entry, name)) for name in MOMENTS})
    row.update(
        flags=";".join(entry.flags),
        first_response_target_seconds=_seconds(entry.first_response_target),
        first_response_elapsed_seconds=entry.first_response_elapsed.total_seconds(),
        resolution_target_seconds=_seconds(entry.resolution_target),
        resolution_paused_seconds=entry.resolution_paused.total_seconds(),
    )
    return row


def _sqlite_moment(text: str | None) -> datetime | None:
    """A moment as SQLite stores it ("2026-01-05 07:00:00.000000", UTC), parsed in C with its offset."""
    return None if text is None else datetime.fromisoformat(text + "+00:00")


# the table's columns in LedgerEntry's field order (what `_reader` reads by position)
COLUMNS = (
    "platform",
    "ticket_id",
    "created_at",
    "requester_email",
    "requester_name",
    "subject",
    "customer_id",
    "customer_name",
    "product",
    "request_type",
    "topic",
    "channel",
    "tier",
    "contract",
    "flags",
    "first_response_target_seconds",
    "first_response_due",
    "first_response_at",
    "first_response_elapsed_seconds",
    "first_response_state",
    "first_response_breached_at",
    "resolution_target_seconds",
    "resolution_due",
    "resolved_at",
    "resolution_paused_seconds",
    "resolution_state",
    "resolution_breached_at",
    "processed_at",
)


def _reader(moment: Any) -> Any:
    """A row -> LedgerEntry function, positional and written out (a report reads 100,000 rows
    through it; a loop over converters cost twice as much)."""
    td = timedelta

    def read(r: Any) -> LedgerEntry:
        return LedgerEntry(
            r[0],
            r[1],
            moment(r[2]),
            r[3],
            r[4],
            r[5],
            r[6],
            r[7],
            r[8],
            r[9],
            r[10],
            r[11],
            r[12],
            r[13],
            tuple(r[14].split(";")) if r[14] else (),
            None if r[15] is None else td(seconds=r[15]),
            moment(r[16]),
            moment(r[17]),
            td(seconds=r[18]),
            r[19],
            moment(r[20]),
            None if r[21] is None else td(seconds=r[21]),
            moment(r[22]),
            moment(r[23]),
            td(seconds=r[24]),
            r[25],
            moment(r[26]),
            moment(r[27]),
        )

    return read


class LedgerStore:
    """The ledger's operations; a record is one short transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def record(self, entry: LedgerEntry) -> None:
        """Insert or replace the ticket's row."""
        row = entry_row(entry)
        insert = _insert(self.engine, ticket_ledger).values(**row)
        upsert = insert.on_conflict_do_update(
            index_elements=list(KEYS), set_={k: insert.excluded[k] for k in row if k not in KEYS}
        )
        with self.engine.begin() as conn:
            conn.execute(upsert)

    def _select(self, *where: Any) -> tuple[sa.Select[*tuple[Any, ...]], Any]:
        """A select of the entry's columns, and the row reader; moments are read on SQLite as
        text parsed by `datetime.fromisoformat` (SQLAlchemy's own parsing costs seconds per
        100,000 rows); on PostgreSQL the driver's aware datetimes."""
        columns: list[sa.ColumnElement[Any]] = [ticket_ledger.c[name] for name in COLUMNS]
        if self.engine.dialect.name == "sqlite":
            columns = [sa.type_coerce(c, sa.String) if c.name in MOMENTS else c for c in columns]
            return sa.select(*columns).where(*where), _reader(_sqlite_moment)
        return sa.select(*columns).where(*where), _reader(utc)

    def period(self, start: datetime, end: datetime, customer_id: str | None = None) -> Iterator[LedgerEntry]:
        """The tickets created in [start, end), of one customer (None: every ticket), oldest first."""
        c = ticket_ledger.c
        where = [c.created_at >= _store(start), c.created_at < _store(end)]
        if customer_id is not None:
            where.append(c.customer_id == customer_id)
        query, read = self._select(*where)
        query = query.order_by(c.created_at, c.platform, c.ticket_id)
        with self.engine.connect() as conn:  # fetched in batches, not a driver call per row
            for row in conn.execution_options(yield_per=5000).execute(query):
                yield read(row)

    def get(self, platform: str, ticket_id: str) -> LedgerEntry | None:
        """One ticket's row."""
        query, read = self._select(ticket_ledger.c.platform == platform, ticket_ledger.c.ticket_id == ticket_id)
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return None if row is None else read(row)

    def recent(self, limit: int = 50) -> list[LedgerEntry]:
        """The `limit` most recently processed tickets, latest first (an index range scan)."""
        query, read = self._select()
        query = query.order_by(ticket_ledger.c.processed_at.desc()).limit(limit)
        with self.engine.connect() as conn:
            return [read(row) for row in conn.execute(query)]

    def customers_since(self, since: datetime) -> list[tuple[str, str | None, int]]:
        """(customer id, name, tickets) of the customers with tickets created since `since`."""
        c = ticket_ledger.c
        query = (
            sa.select(c.customer_id, sa.func.max(c.customer_name), sa.func.count())
            .where(c.created_at >= _store(since), c.customer_id.is_not(None))
            .group_by(c.customer_id)
            .order_by(c.customer_id)
        )
        with self.engine.connect() as conn:
            return [(cid, name, n) for cid, name, n in conn.execute(query)]

    def customer_name(self, customer_id: str) -> str | None:
        """The name the ledger last recorded for the customer (None: no ticket of it)."""
        c = ticket_ledger.c
        query = sa.select(c.customer_name).where(c.customer_id == customer_id).order_by(c.processed_at.desc()).limit(1)
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return None if row is None else (row[0] or customer_id)
