"""The ticket ledger in the database (table as migration 0004 creates it): one upsert per processed
ticket, the rows of a customer's period for reports (read fast: 100,000 rows in well under a
second on SQLite), the latest processed tickets and the customers with tickets, for the status page."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Iterator

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from connector.core.ledger import LedgerEntry
from connector.storage.clocks import _insert, _store
from connector.storage.moments import utc
from connector.storage.tables import metadata

MOMENT = sa.DateTime(timezone=True)

ticket_ledger = sa.Table(
    "ticket_ledger", metadata,
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

MOMENTS = ("created_at", "first_response_due", "first_response_at", "first_response_breached_at",
           "resolution_due", "resolved_at", "resolution_breached_at", "processed_at")
KEYS = ("platform", "ticket_id")


def _seconds(value: timedelta | None) -> float | None:
    return None if value is None else value.total_seconds()


def entry_row(entry: LedgerEntry) -> dict[str, Any]:
    """The table row of an entry (moments in UTC: SQLite keeps no offset)."""
    row = {name: getattr(entry, name) for name in (
        "platform", "ticket_id", "requester_email", "requester_name", "subject", "customer_id", "customer_name",
        "product", "request_type", "topic", "channel", "tier", "contract", "first_response_state",
        "resolution_state")}
    row.update({name: _store(getattr(entry, name)) for name in MOMENTS})
    row.update(flags=";".join(entry.flags),
               first_response_target_seconds=_seconds(entry.first_response_target),
               first_response_elapsed_seconds=entry.first_response_elapsed.total_seconds(),
               resolution_target_seconds=_seconds(entry.resolution_target),
               resolution_paused_seconds=entry.resolution_paused.total_seconds())
    return row


def _sqlite_moment(text: str | None) -> datetime | None:
    """A moment as SQLite stores it ("2026-01-05 07:00:00.000000", UTC), parsed in C with its offset."""
    return None if text is None else datetime.fromisoformat(text + "+00:00")


def _td(seconds: float | None) -> timedelta | None:
    return None if seconds is None else timedelta(seconds=seconds)


def _flags(text: str) -> tuple[str, ...]:
    return tuple(text.split(";")) if text else ()


# table column -> LedgerEntry field, in the entry's field order, with how a stored value is read
# (None: as it is; "moment": the dialect's moment reader)
_READ: tuple[tuple[str, Any], ...] = (
    ("platform", None), ("ticket_id", None), ("created_at", "moment"), ("requester_email", None),
    ("requester_name", None), ("subject", None), ("customer_id", None), ("customer_name", None), ("product", None),
    ("request_type", None), ("topic", None), ("channel", None), ("tier", None), ("contract", None),
    ("flags", _flags), ("first_response_target_seconds", _td), ("first_response_due", "moment"),
    ("first_response_at", "moment"), ("first_response_elapsed_seconds", _td), ("first_response_state", None),
    ("first_response_breached_at", "moment"), ("resolution_target_seconds", _td), ("resolution_due", "moment"),
    ("resolved_at", "moment"), ("resolution_paused_seconds", _td), ("resolution_state", None),
    ("resolution_breached_at", "moment"), ("processed_at", "moment"))


def _reader(moment: Any) -> Any:
    """A row -> LedgerEntry function: positional, with converters only where a value needs one
    (a report reads 100,000 rows through it)."""
    converters = [(i, moment if how == "moment" else how) for i, (_c, how) in enumerate(_READ) if how is not None]

    def read(row: Any) -> LedgerEntry:
        values = list(row)
        for i, convert in converters:
            values[i] = convert(values[i])
        return LedgerEntry(*values)
    return read


class LedgerStore:
    """The ledger's operations; a record is one short transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def record(self, entry: LedgerEntry) -> None:
        """Insert or replace the ticket's row."""
        row = entry_row(entry)
        insert = _insert(self.engine, ticket_ledger).values(**row)
        upsert = insert.on_conflict_do_update(index_elements=list(KEYS),
                                              set_={k: insert.excluded[k] for k in row if k not in KEYS})
        with self.engine.begin() as conn:
            conn.execute(upsert)

    def _select(self, *where: Any) -> tuple[sa.Select, Any]:
        """A select of the entry's columns, and the row reader; moments are read on SQLite as
        text parsed by `datetime.fromisoformat` (SQLAlchemy's own parsing costs seconds per
        100,000 rows); on PostgreSQL the driver's aware datetimes."""
        columns = [ticket_ledger.c[name] for name, _how in _READ]
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
        with self.engine.connect() as conn:
            for row in conn.execute(query):
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
        query = (sa.select(c.customer_id, sa.func.max(c.customer_name), sa.func.count())
                 .where(c.created_at >= _store(since), c.customer_id.is_not(None))
                 .group_by(c.customer_id).order_by(c.customer_id))
        with self.engine.connect() as conn:
            return [(cid, name, n) for cid, name, n in conn.execute(query)]

    def customer_name(self, customer_id: str) -> str | None:
        """The name the ledger last recorded for the customer (None: no ticket of it)."""
        c = ticket_ledger.c
        query = (sa.select(c.customer_name).where(c.customer_id == customer_id)
                 .order_by(c.processed_at.desc()).limit(1))
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return None if row is None else (row[0] or customer_id)
