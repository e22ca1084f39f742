"""Building a report: check the request, read the period's ledger rows, compute (connector.core.report)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from connector.core.entitlement import Rulebook
from connector.core.errors import BadInput
from connector.core.report import Report, build_report, period_bounds
from connector.storage import tables as t
from connector.storage.ledger import LedgerStore
from connector.storage.moments import utcnow


def parse_day(text: str, option: str) -> date:
    """A YYYY-MM-DD option value (a day in the vendor's zone)."""
    try:
        if len(text) != 10:
            raise ValueError
        return date.fromisoformat(text)
    except ValueError:
        raise BadInput(f"{option} {text!r} is not a date (YYYY-MM-DD)") from None


def customer_name(engine: Engine, customer_id: str) -> str:
    """The customer's name in the registry, else in the ledger; BadInput for an unknown customer."""
    with engine.connect() as conn:
        name = conn.execute(sa.select(t.customers.c.name).where(t.customers.c.id == customer_id)).scalar()
    name = name or LedgerStore(engine).customer_name(customer_id)
    if name is None:
        raise BadInput(f"unknown customer {customer_id!r}: not in the registry and no ticket of it in the ledger")
    return name


def make_report(
    engine: Engine, rules: Rulebook, customer_id: str | None, start: date, end: date, now: datetime | None = None
) -> Report:
    """The report of one customer (None: every customer) for the days [start, end] of the vendor's zone."""
    zone = rules.vendor_calendar.zone
    since, until = period_bounds(start, end, zone)
    name = customer_name(engine, customer_id) if customer_id is not None else None
    entries = LedgerStore(engine).period(since, until, customer_id)
    # the same zone as the standard library's: converting 100,000 rows' moments costs a tenth of pytz's
    shown = ZoneInfo(getattr(zone, "zone", None) or str(zone))
    return build_report(entries, customer_id, name, start, end, now or utcnow(), shown)
