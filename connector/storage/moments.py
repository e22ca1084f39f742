"""Moments as the stores keep them: aware UTC in, aware UTC out (SQLite keeps no offset)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import overload


def utcnow() -> datetime:
    """The current moment, aware, in UTC (the services' default clock)."""
    return datetime.now(UTC)


@overload
def utc(moment: datetime) -> datetime: ...
@overload
def utc(moment: None) -> None: ...
def utc(moment: datetime | None) -> datetime | None:
    """Moments come back naive from SQLite (stored as UTC) and aware from PostgreSQL."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
