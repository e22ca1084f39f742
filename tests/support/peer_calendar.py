"""The peer our calendar engine is checked against: businesstimedelta configured to give the
default calendar's answers (RU days off, working Saturdays and shortened days need extra rules
there), at its fastest (its holidays as a set: it looks each day up in them). Used by the
cross-check in tests/test_calendar_peer.py and by benchmarks/due_dates.py."""

from __future__ import annotations

import bisect
import datetime as dt

import pytz

from connector.config.calendars import russian_production_calendar

MOSCOW = pytz.timezone("Europe/Moscow")


def peer_rules(years: range, shortened: bool = True):
    """businesstimedelta rules equal to the default calendar for `years`."""
    import businesstimedelta as btd

    class DatesRule(btd.Rule):
        """A block of time on listed dates only (working Saturdays; the lost hour of short days)."""

        def __init__(self, dates, start: dt.time, end: dt.time, **kwargs) -> None:
            super().__init__(**kwargs)
            self.dates, self.start, self.end = sorted(dates), start, end

        def next(self, moment):
            local = moment.astimezone(self.tz)
            i = bisect.bisect_left(self.dates, local.date())
            while True:
                if i >= len(self.dates):  # none left: a block far away, never reached
                    far = self.tz.localize(dt.datetime(2999, 1, 1))
                    return far, far
                start = self.tz.localize(dt.datetime.combine(self.dates[i], self.start))
                end = self.tz.localize(dt.datetime.combine(self.dates[i], self.end))
                if end > moment:
                    return max(start, moment), end
                i += 1

    class WeekdaysExcept(btd.WorkDayRule):
        """btd's weekday rule, skipping listed dates (shortened days get a block of their own)."""

        def __init__(self, skip, **kwargs) -> None:
            super().__init__(**kwargs)
            self.skip = skip

        def next(self, moment, reverse=False):
            start, end = super().next(moment)
            while start.astimezone(self.tz).date() in self.skip:
                start, end = super().next(end)
            return start, end

    ru = russian_production_calendar()
    off = set().union(*(ru.days_off(y) for y in years))
    saturdays = set().union(*(ru.working_days(y) for y in years))
    short = set().union(*(ru.shortened_days(y) for y in years)) if shortened else set()
    # btd.Rules ignores a time-off block that ends with the working day (17:00-18:00), so a
    # shortened day is skipped by the weekday rule and gets a 10:00-17:00 block of its own
    rules = [
        WeekdaysExcept(short, start_time=dt.time(10), end_time=dt.time(18), working_days=[0, 1, 2, 3, 4], tz=MOSCOW),
        DatesRule(saturdays - short, dt.time(10), dt.time(18), tz=MOSCOW),
        DatesRule(short, dt.time(10), dt.time(17), tz=MOSCOW),
        # a set, not a list: btd tests `date in holidays` day by day, so this is its fastest correct form
        btd.HolidayRule(frozenset(off), tz=MOSCOW),
    ]
    return btd.Rules(rules)


def starts(count: int) -> list[dt.datetime]:
    """`count` moments spread evenly over 2026, Moscow time."""
    first = MOSCOW.localize(dt.datetime(2026, 1, 1))
    step = dt.timedelta(days=365) / count
    return [MOSCOW.normalize(first + i * step) for i in range(count)]
