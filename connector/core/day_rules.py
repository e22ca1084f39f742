"""Day rules: which spans of which date are working time.

Weekly hours, then the production calendar's days off and extra working days (Russia's working
Saturdays), then the admin's own days off and working days, then shortened pre-holiday days
(closing one hour earlier, Labour Code art. 95).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

from connector.core.errors import BadInput

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SPAN = re.compile(r"^(\d\d):(\d\d)-(\d\d):(\d\d)$")
Spans = tuple[tuple[int, int], ...]


class ProductionCalendar(Protocol):
    """A country's official days off, working weekend days and shortened days, per year."""

    def days_off(self, year: int) -> frozenset[date]: ...
    def working_days(self, year: int) -> frozenset[date]: ...
    def shortened_days(self, year: int) -> frozenset[date]: ...


class NoHolidays:
    """A production calendar with no holidays at all (24x7 desks, custom calendars)."""

    def days_off(self, year: int) -> frozenset[date]:
        return frozenset()

    working_days = shortened_days = days_off


def parse_dates(texts: Sequence[str]) -> frozenset[date]:
    """ISO dates ("2026-12-31") as a set of dates."""
    return frozenset(date.fromisoformat(t) for t in texts)


def parse_spans(texts: Sequence[str], where: str) -> Spans:
    """["10:00-13:00", "14:00-18:00"] -> ((600, 780), (840, 1080)), checked sorted and disjoint."""
    spans: list[tuple[int, int]] = []
    for text in texts:
        m = _SPAN.match(text)
        if not m:
            raise BadInput(f"bad working span {text!r}: expected HH:MM-HH:MM", where)
        h1, m1, h2, m2 = map(int, m.groups())
        a, b = h1 * 60 + m1, h2 * 60 + m2
        if h1 > 23 or m1 > 59 or m2 > 59 or b > 1440 or b <= a:
            raise BadInput(f"bad working span {text!r}: end must be after start, at most 24:00", where)
        if spans and a < spans[-1][1]:
            raise BadInput(f"working span {text!r} overlaps or precedes the one before it", where)
        spans.append((a, b))
    return tuple(spans)


def weekly_hours(
    weekdays: Sequence[str], hours: Sequence[str] | Mapping[str, Sequence[str]], where: str = "hours"
) -> tuple[Spans, ...]:
    """Seven tuples of spans, Monday first, from a weekday list and shared or per-day hours."""
    per_day = hours if isinstance(hours, Mapping) else {day: hours for day in weekdays}
    week = tuple(parse_spans(per_day.get(day, ()), f"{where}.{day}") if day in weekdays else () for day in WEEKDAYS)
    if not any(week):
        raise BadInput("the calendar has no working hours in the week", where)
    return week


@dataclass(frozen=True)
class DayRules:
    """Everything that decides one date's working spans; callable as `rules(day) -> spans`."""

    week: tuple[Spans, ...]
    production: ProductionCalendar = field(default_factory=NoHolidays)
    days_off: frozenset[date] = frozenset()
    working_days: frozenset[date] = frozenset()
    shortened_days: frozenset[date] = frozenset()
    shortened: bool = True
    _years: dict[int, tuple[frozenset[date], frozenset[date], frozenset[date]]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def __post_init__(self) -> None:
        both = self.days_off & self.working_days
        if both:
            raise BadInput(f"dates both off and working: {', '.join(map(str, sorted(both)))}")

    @property
    def workday_spans(self) -> Spans:
        """Hours of an extra working day: those of the first open weekday (Monday's, usually)."""
        return next(spans for spans in self.week if spans)

    def _year(self, year: int) -> tuple[frozenset[date], frozenset[date], frozenset[date]]:
        if year not in self._years:
            self._years[year] = (
                self.production.days_off(year),
                self.production.working_days(year),
                self.production.shortened_days(year),
            )
        return self._years[year]

    def __call__(self, day: date) -> Spans:
        off, working, short = self._year(day.year)
        if day in self.working_days:
            spans = self.week[day.weekday()] or self.workday_spans
        elif day in self.days_off or (day in off and day not in working):
            return ()
        elif day in working:
            spans = self.week[day.weekday()] or self.workday_spans
        else:
            spans = self.week[day.weekday()]
        if spans and self.shortened and (day in short or day in self.shortened_days):
            (a, b), rest = spans[-1], spans[:-1]
            spans = rest + (((a, b - 60),) if b - 60 > a else ())
        return spans
