"""SLA reports from ledger rows (the individual tier's "reports on the customer's requests for a
period"): each ticket's outcome per metric, summaries, and the counts a chart shows. Pure: the
rows and the moment the report runs (`now`) come in.

Outcomes: `met`, the first response (or the solve) was given at or before its due moment;
`missed`, given after it, or not given and the due moment has passed when the report runs (a clock
breached while it was paused is missed too); `open`, not given and the due moment is ahead; `-`,
the tier sets no target for that metric. The share met is met / (met + missed): open tickets are
not decided yet. Times to first response are working hours on the target's calendar (the clock's
own count, as the ledger keeps it).
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from connector.core.errors import BadInput
from connector.core.ledger import LedgerEntry

MET, MISSED, OPEN, NO_TARGET = "met", "missed", "open", "-"
OUTCOMES = (MET, MISSED, OPEN)
METRICS = ("first_response", "resolution")
WEEKLY_UP_TO = timedelta(days=13 * 7)  # a chart by week for up to a quarter, by month beyond


def outcome(
    target: timedelta | None, due: datetime | None, given: datetime | None, breached_at: datetime | None, now: datetime
) -> str:
    """One metric's outcome (see the module docstring)."""
    if target is None:
        return NO_TARGET
    if given is not None:
        if due is not None:
            return MET if given <= due else MISSED
        return MISSED if breached_at is not None else MET
    if breached_at is not None or (due is not None and due < now):
        return MISSED
    return OPEN


@dataclass(frozen=True, slots=True)
class ReportLine:
    """A ticket of the report, its two outcomes, and the working hours to its first response
    (None until given)."""

    entry: LedgerEntry
    first_response: str
    resolution: str
    first_response_hours: float | None


HOUR = timedelta(hours=1)


def report_line(entry: LedgerEntry, now: datetime) -> ReportLine:
    """The entry with its outcomes as of `now`."""
    e = entry
    return ReportLine(
        e,
        outcome(e.first_response_target, e.first_response_due, e.first_response_at, e.first_response_breached_at, now),
        outcome(e.resolution_target, e.resolution_due, e.resolved_at, e.resolution_breached_at, now),
        None if e.first_response_at is None else e.first_response_elapsed / HOUR,
    )


@dataclass
class Tally:
    """Counts of one group of tickets: per metric met/missed/open/-, and first-response hours."""

    tickets: int = 0
    first_response: dict[str, int] = field(default_factory=lambda: dict.fromkeys((*OUTCOMES, NO_TARGET), 0))
    resolution: dict[str, int] = field(default_factory=lambda: dict.fromkeys((*OUTCOMES, NO_TARGET), 0))
    hours: list[float] = field(default_factory=list, repr=False)

    def add(self, line: ReportLine) -> None:
        """Count one ticket."""
        self.tickets += 1
        self.first_response[line.first_response] += 1
        self.resolution[line.resolution] += 1
        if line.first_response_hours is not None:
            self.hours.append(line.first_response_hours)

    def share_met(self, metric: str) -> float | None:
        """met / (met + missed) of a metric; None when nothing is decided."""
        counts = getattr(self, metric)
        decided = counts[MET] + counts[MISSED]
        return counts[MET] / decided if decided else None

    @property
    def median_first_response_hours(self) -> float | None:
        """The median working hours to the first response, over the tickets that have one."""
        return statistics.median(self.hours) if self.hours else None

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready dict (shares and the median rounded to 4 and 2 decimals)."""
        doc: dict[str, Any] = {"tickets": self.tickets}
        for metric in METRICS:
            share = self.share_met(metric)
            counts = getattr(self, metric)
            doc[metric] = {
                **{k: counts[k] for k in OUTCOMES},
                "no_target": counts[NO_TARGET],
                "share_met": None if share is None else round(share, 4),
            }
        median = self.median_first_response_hours
        doc["median_first_response_hours"] = None if median is None else round(median, 2)
        return doc


@dataclass
class Summary:
    """The tally of every ticket, and by request type, tier and product."""

    total: Tally = field(default_factory=Tally)
    by_request_type: dict[str, Tally] = field(default_factory=dict)
    by_tier: dict[str, Tally] = field(default_factory=dict)
    by_product: dict[str, Tally] = field(default_factory=dict)

    def add(self, line: ReportLine) -> None:
        """Count one ticket in the total and its groups."""
        e = line.entry
        self.total.add(line)
        for groups, key in (
            (self.by_request_type, e.request_type),
            (self.by_tier, e.tier),
            (self.by_product, e.product or "-"),
        ):
            tally = groups.get(key)
            if tally is None:
                tally = groups[key] = Tally()
            tally.add(line)

    def groups(self) -> list[tuple[str, dict[str, Tally]]]:
        """The three groupings with their titles, each sorted by key."""
        return [
            (title, dict(sorted(groups.items())))
            for title, groups in (
                ("request type", self.by_request_type),
                ("tier", self.by_tier),
                ("product", self.by_product),
            )
        ]

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "total": self.total.as_json(),
            **{
                f"by_{title.replace(' ', '_')}": {k: t.as_json() for k, t in groups.items()}
                for title, groups in self.groups()
            },
        }


@dataclass(frozen=True)
class Bucket:
    """One bar group of the chart: a week (from its Monday) or a month, with both metrics' counts."""

    label: str
    first_day: date
    first_response: dict[str, int]
    resolution: dict[str, int]


def chart_unit(start: date, end: date) -> str:
    """ "week" for periods up to 13 weeks, else "month"."""
    return "week" if end - start < WEEKLY_UP_TO else "month"


def chart_buckets(lines: Sequence[ReportLine], start: date, end: date, zone: Any) -> list[Bucket]:
    """Met/missed/open per week (periods up to 13 weeks) or per month, over the whole period
    (empty weeks or months included), by the ticket's creation day in the vendor's zone."""
    weekly = chart_unit(start, end) == "week"

    def first_day(day: date) -> date:
        return day - timedelta(days=day.weekday()) if weekly else day.replace(day=1)

    days, day = [], first_day(start)
    while day <= end:
        days.append(day)
        day = day + timedelta(days=7) if weekly else (day + timedelta(days=32)).replace(day=1)
    counts = {d: (dict.fromkeys(OUTCOMES, 0), dict.fromkeys(OUTCOMES, 0)) for d in days}
    for line in lines:
        fr, res = counts[first_day(line.entry.created_at.astimezone(zone).date())]
        for tally, value in ((fr, line.first_response), (res, line.resolution)):
            if value in tally:
                tally[value] += 1
    return [Bucket(f"{d:%d %b}" if weekly else f"{d:%b %Y}", d, *counts[d]) for d in days]


@dataclass(frozen=True)
class Report:
    """One customer's report for a period (`customer_id` None: every customer, one row each)."""

    customer_id: str | None
    customer_name: str | None
    start: date
    end: date
    generated_at: datetime
    zone: Any
    lines: list[ReportLine]
    summary: Summary
    chart: list[Bucket]
    customers: list[tuple[str, str, Tally]] = field(default_factory=list)  # --all: (id, name, tally)

    @property
    def chart_unit(self) -> str:
        """What one bar group of the chart is: a week or a month."""
        return chart_unit(self.start, self.end)


def period_bounds(start: date, end: date, zone: Any) -> tuple[datetime, datetime]:
    """[first moment of `start`, first moment after `end`) in the vendor's zone (a pytz zone)."""
    if start > end:
        raise BadInput(f"--from {start} is after --to {end}")
    return (
        zone.localize(datetime.combine(start, datetime.min.time())),
        zone.localize(datetime.combine(end + timedelta(days=1), datetime.min.time())),
    )


def build_report(
    entries: Iterable[LedgerEntry],
    customer_id: str | None,
    customer_name: str | None,
    start: date,
    end: date,
    now: datetime,
    zone: Any,
) -> Report:
    """The report of the entries (those of the period), as of `now`; `zone` (any tzinfo) is the
    vendor's, for days and the moments shown."""
    lines = [report_line(e, now) for e in entries]
    summary = Summary()
    per_customer: dict[str, tuple[str, Tally]] = {}
    for line in lines:
        summary.add(line)
        if customer_id is None:
            e = line.entry
            key = e.customer_id or ""
            name, tally = per_customer.setdefault(key, (e.customer_name or "(no customer identified)", Tally()))
            tally.add(line)
    customers = [(cid, name, tally) for cid, (name, tally) in sorted(per_customer.items())]
    return Report(
        customer_id,
        customer_name,
        start,
        end,
        now,
        zone,
        lines,
        summary,
        chart_buckets(lines, start, end, zone),
        customers,
    )
