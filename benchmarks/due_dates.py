"""Due-date speed: our calendar engine against businesstimedelta, in one run.

5,000 starts spread over 2026 (every ~105 minutes, so they fall in and out of working time),
each + 40 working hours on the vendor's default calendar. businesstimedelta is configured to
give the same answers (RU days off, working Saturdays and shortened days need extra rules
there) at its fastest (its holidays as a set: it looks each day up in them); every answer is
compared, then both rates and the ratio are printed.

    python benchmarks/due_dates.py [--starts N] [--hours H]
"""

from __future__ import annotations

import argparse
import bisect
import datetime as dt
import sys
import time
from pathlib import Path

import pytz

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from connector.config.calendars import (
    build_calendar,  # noqa: E402
    russian_production_calendar,  # noqa: E402
)

MOSCOW = pytz.timezone("Europe/Moscow")
TARGET_RATIO = 300


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


def rate(fn, moments) -> tuple[float, list]:
    """(operations per second, answers) of fn over moments."""
    t0 = time.perf_counter()
    answers = [fn(m) for m in moments]
    return len(moments) / (time.perf_counter() - t0), answers


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=5000)
    parser.add_argument("--hours", type=float, default=40)
    args = parser.parse_args()
    import businesstimedelta as btd

    moments, hours = starts(args.starts), dt.timedelta(hours=args.hours)
    calendar = build_calendar("default")
    calendar.add(moments[0], hours)  # lay out the years once, as a long-running service has
    delta = btd.BusinessTimeDelta(peer_rules(range(2025, 2028)), timedelta=hours)

    ours, our_answers = rate(lambda m: calendar.add(m, hours), moments)
    peer, peer_answers = rate(lambda m: (m + delta).astimezone(MOSCOW), moments)
    wrong = [(m, a, b) for m, a, b in zip(moments, our_answers, peer_answers, strict=True) if a != b]
    print(f"due dates: {args.starts} starts over 2026, +{args.hours:g} working hours, default calendar")
    print(f"  connector          {ours:12,.0f} /s")
    print(f"  businesstimedelta  {peer:12,.0f} /s")
    print(f"  ratio              {ours / peer:12,.0f} x   (target >= {TARGET_RATIO} x)")
    if wrong:
        for m, a, b in wrong[:5]:
            print(f"  DISAGREE start {m.isoformat()}: ours {a.isoformat()} peer {b.isoformat()}")
        print(f"  {len(wrong)} answers disagree")
        return 1
    print(f"  all {len(moments)} answers agree")
    return 0 if ours / peer >= TARGET_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
