"""One event's database work in one transaction (a unit of work), so that processing a ticket
costs the claim and one more transaction, not one per store call.

The worker opens a unit around processing an event; inside it, stores read through `reading()`
(the unit's one connection) and put their writes off with `writing()` (run when the unit
commits, together with the event's own settlement). Outside a unit both behave as before: a
connection of their own, a transaction of their own. Writes are put off rather than run at
once so that no row lock (and, on SQLite, no write lock) is held while the platform is called.

What must survive a failed event is not written through a unit: the KB audit of what was done on
the platform is appended at once (`AccessAudit.record`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import sqlalchemy as sa
from sqlalchemy.engine import Engine

Write = Callable[[sa.Connection], object]
_current: ContextVar[Unit | None] = ContextVar("connector_unit_of_work", default=None)


class Unit:
    """A connection opened on first use and the writes put off until `commit`."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._conn: sa.Connection | None = None
        self._writes: list[Write] = []

    def connection(self) -> sa.Connection:
        """The unit's connection (opened on first use)."""
        if self._conn is None:
            self._conn = self.engine.connect()
        return self._conn

    def later(self, write: Write) -> None:
        """Run `write(conn)` when the unit commits."""
        self._writes.append(write)

    def commit(self, last: Write | None = None) -> object:
        """Run the put-off writes, then `last` (its result is returned), and commit them together."""
        conn = self.connection()
        result = None
        for write in self._writes:
            write(conn)
        self._writes.clear()
        if last is not None:
            result = last(conn)
        conn.commit()
        return result

    def close(self) -> None:
        """Release the connection; what was not committed is rolled back."""
        self._writes.clear()
        if self._conn is not None:
            self._conn.close()  # rolls back an open transaction
            self._conn = None


@contextmanager
def unit_of_work(engine: Engine) -> Iterator[Unit]:
    """A unit for the current thread (nested use joins nothing: one unit at a time)."""
    unit = Unit(engine)
    token = _current.set(unit)
    try:
        yield unit
    finally:
        _current.reset(token)
        unit.close()


def current(engine: Engine) -> Unit | None:
    """The thread's unit when it is on `engine`."""
    unit = _current.get()
    return unit if unit is not None and unit.engine is engine else None


@contextmanager
def reading(engine: Engine) -> Iterator[sa.Connection]:
    """A connection to read with: the current unit's, else one of its own."""
    unit = current(engine)
    if unit is not None:
        yield unit.connection()
        return
    with engine.connect() as conn:
        yield conn


def writing(engine: Engine, write: Write) -> None:
    """Run `write(conn)`: with the current unit's commit, else at once in a transaction of its own."""
    unit = current(engine)
    if unit is not None:
        unit.later(write)
        return
    with engine.begin() as conn:
        write(conn)
