"""The working-time engine: add working time to a moment, measure it between two moments.

A `BusinessCalendar` turns its day rules (which spans of which dates are working time, see
`connector.core.day_rules`) into sorted working intervals in UTC microseconds, with the working
time accumulated before each interval. Every operation is then one or two bisections: O(log n).
Years are laid out lazily, as queries reach them, so one calendar serves any date.
"""

from __future__ import annotations

import bisect
import logging
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time, timedelta

import pytz

from connector.core.errors import BadInput

log = logging.getLogger(__name__)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
NAIVE_EPOCH = datetime(1970, 1, 1)
ONE_US = timedelta(microseconds=1)
ONE_DAY = timedelta(days=1)
FIRST_YEAR, LAST_YEAR = 1900, 2200  # far enough for any SLA; bounds the lazy lay-out of years
MAX_HOURS = 1_000_000  # about 500 years of 8-hour days
MAX_DURATION_US = MAX_HOURS * 3600 * 1_000_000
Spans = Sequence[tuple[int, int]]  # (start, end) minutes after local midnight, end <= 1440


def to_us(moment: datetime) -> int:
    """Microseconds since the epoch of an aware datetime (exact, unlike .timestamp())."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise BadInput(f"naive datetime {moment.isoformat()}: give a UTC offset or a zone")
    return (moment - EPOCH) // ONE_US


def duration_us(duration: timedelta) -> int:
    """A non-negative working duration in microseconds."""
    if duration < timedelta(0):
        raise BadInput(f"negative working time: {duration}")
    return duration // ONE_US


TWO_DIGITS = tuple(f"{n:02d}" for n in range(60))


def _iso_parts(local: datetime) -> tuple[str, int, str, datetime]:
    """How `add_iso` writes moments after an interval's local start: its date and "T", its
    seconds after local midnight (86400 when it has a fraction: never the short way), its UTC
    offset as isoformat writes it, and the start without its zone."""
    naive = local.replace(tzinfo=None)
    first = naive.hour * 3600 + naive.minute * 60 + naive.second if not naive.microsecond else 86400
    return naive.date().isoformat() + "T", first, local.isoformat()[len(naive.isoformat()) :], naive


class BusinessCalendar:
    """Working time in one zone, from a rule giving each date's working spans."""

    def __init__(
        self,
        name: str,
        zone: str,
        spans_for: Callable[[date], Spans],
        horizon: date | None = None,
        known_from: date | None = None,
    ) -> None:
        try:
            self.zone = pytz.timezone(zone)
        except pytz.UnknownTimeZoneError:
            raise BadInput(f"unknown time zone {zone!r}") from None
        # a zone with daylight saving or other changes (pytz's DstTzInfo): its UTC transition
        # times and, per transition, the offset in us; None for a fixed offset
        self._transitions: list[datetime] | None = getattr(self.zone, "_utc_transition_times", None)
        self._offsets_us: list[int] = [info[0] // ONE_US for info in getattr(self.zone, "_transition_info", ())]
        self.name = name
        self.horizon = horizon
        self.known_from = known_from
        self._spans_for = spans_for
        self._first_year = self._last_year = 0  # years laid out: [first, last]
        self._years: dict[int, list[tuple[int, int, datetime | None]]] = {}  # _year_intervals
        self._safe = (0, 0)  # moments whose year and both neighbours are laid out
        # moments outside [known_lo, known_hi) are provisional; kept as ints for the hot path
        self._known = (
            self._local_us(known_from, 0) if known_from else -(1 << 62),
            self._local_us(horizon, 1440) if horizon else 1 << 62,
        )
        # starts, ends, working us before each start (from the first year), the same at each end,
        # local start datetimes; one tuple, swapped whole under the lock, so readers never mix
        self._arrays: tuple[list[int], list[int], list[int], list[int], list[datetime | None]] = ([], [], [], [], [])
        self._lock = threading.Lock()
        self._warned = False
        self._iso_parts: dict[int, tuple[str, int, str, datetime]] = {}  # interval start us -> _iso_parts

    def __repr__(self) -> str:
        return f"BusinessCalendar({self.name!r}, {self.zone.zone!r}, horizon={self.horizon})"

    # -- lay-out of intervals -------------------------------------------------------------
    def _local_us(self, day: date, minute: int) -> int:
        if minute == 1440:
            day, minute = day + timedelta(days=1), 0
        naive = datetime.combine(day, time(minute // 60, minute % 60))
        times = self._transitions
        if times is not None:
            # pytz's localize looks for the offsets in force a day before and a day after; when no
            # transition lies between them it returns the moment at that one offset (no ambiguity,
            # no gap): the same answer, without its two normalize() calls (a tenth of the time)
            i = bisect.bisect_right(times, naive - ONE_DAY)
            if i == bisect.bisect_right(times, naive + ONE_DAY):
                return (naive - NAIVE_EPOCH) // ONE_US - self._offsets_us[max(0, i - 1)]
        return to_us(self.zone.localize(naive))

    def _year_intervals(self, year: int) -> list[tuple[int, int, datetime | None]]:
        """The year's intervals with their local starts (`_local_start`), worked out once: a lay-out
        that adds an earlier year rebuilds the arrays from these."""
        out = self._years.get(year)
        if out is None:
            day, out = date(year, 1, 1), []
            while day.year == year:
                for a, b in self._spans_for(day):
                    a, b = self._local_us(day, a), self._local_us(day, b)
                    out.append((a, b, self._local_start(a, b)))
                day += timedelta(days=1)
            self._years[year] = out
        return out

    def _lay_out(self, first: int, last: int) -> None:
        """Lay out years first..last: appended when only later years are new, else rebuilt.
        Adjacent intervals merge (24x7 at midnight). The arrays are swapped in whole."""
        if not FIRST_YEAR <= first <= last <= LAST_YEAR:
            raise BadInput(f"date out of the supported range (years {FIRST_YEAR}-{LAST_YEAR})")
        if self._first_year and first == self._first_year:
            starts, ends, cum, cum_end = (list(a) for a in self._arrays[:4])
            local_starts = list(self._arrays[4])
            years = range(self._last_year + 1, last + 1)
        else:
            starts, ends, cum, cum_end, local_starts = [], [], [], [], []
            years = range(first, last + 1)
        total = cum_end[-1] if cum_end else 0
        for year in years:
            for a, b, local in self._year_intervals(year):
                if ends and a <= ends[-1]:  # touching the previous interval (24x7 at midnight)
                    total += max(0, b - ends[-1])
                    ends[-1], cum_end[-1] = max(b, ends[-1]), total
                    local_starts[-1] = self._local_start(starts[-1], ends[-1])
                    continue
                starts.append(a)
                ends.append(b)
                cum.append(total)
                total += b - a
                cum_end.append(total)
                local_starts.append(local)
        self._arrays = (starts, ends, cum, cum_end, local_starts)
        self._first_year, self._last_year = first, last
        self._safe = (to_us(datetime(first + 1, 1, 1, tzinfo=UTC)), to_us(datetime(last, 1, 1, tzinfo=UTC)))

    def _cover(self, us: int) -> None:
        """Make sure the moment's year and its neighbours are laid out."""
        if self._safe[0] <= us < self._safe[1]:
            return
        with self._lock:
            self._extend_to(us)

    def _extend_to(self, us: int) -> None:
        if self._safe[0] <= us < self._safe[1]:
            return
        try:
            year = (EPOCH + timedelta(microseconds=us)).year
        except OverflowError:  # in UTC before year 1 or after 9999: out of range all the same
            year = FIRST_YEAR - 2 if us < 0 else LAST_YEAR + 2
        if not self._first_year:  # first use: that year and its neighbours (a command asks one thing)
            self._lay_out(year - 1, year + 1)
        else:
            self._lay_out(min(self._first_year, year - 1), max(self._last_year, year + 1))

    def _cover_working_time(self, target: int) -> None:
        """Lay out later years until `target` accumulated working us is reached."""
        with self._lock:
            while not self._arrays[3] or self._arrays[3][-1] < target:
                if self._last_year >= LAST_YEAR:
                    raise BadInput(f"no working time left before year {LAST_YEAR} in calendar {self.name!r}")
                self._lay_out(self._first_year, min(LAST_YEAR, self._last_year + 5))

    # -- conversions ------------------------------------------------------------------------
    def _local_start(self, a: int, b: int) -> datetime | None:
        """The interval's start in the calendar's zone, if one UTC offset holds for all of it:
        then start + timedelta is a right local moment without a pytz lookup."""
        first, last = self._from_us(a), self._from_us(b)
        return first if first.utcoffset() == last.utcoffset() else None

    def _from_us(self, us: int) -> datetime:
        return (EPOCH + timedelta(microseconds=us)).astimezone(self.zone)

    def _cum_at(self, us: int) -> int:
        starts, ends, cum = self._arrays[:3]
        i = bisect.bisect_right(starts, us) - 1
        if i < 0:
            return 0
        return cum[i] + min(us - starts[i], ends[i] - starts[i])

    def _outside_known(self, us: int) -> bool:
        return not self._known[0] <= us < self._known[1]

    def _note_provisional(self, first: int, last: int) -> None:
        if not self._warned and (self._outside_known(first) or self._outside_known(last)):
            self._warned = True
            log.warning(
                "calendar %r: dates outside %s..%s are provisional (weekends and fixed-date holidays only)",
                self.name,
                self.known_from or "-",
                self.horizon or "-",
            )

    # -- operations -------------------------------------------------------------------------
    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The moment `duration` of working time after `start`; a due moment that lands exactly
        at a closing time is that closing time, not the next opening."""
        t, d = to_us(start), duration // ONE_US
        if d > MAX_DURATION_US:
            raise BadInput(f"{duration} of working time is more than any SLA needs (at most {MAX_HOURS:,} hours)")
        if d <= 0:
            duration_us(duration)  # raises for negative
            self._cover(t)
            return self._from_us(t) if self._at_working_edge(t) else self.next_opening(start)
        due, start_us, local = self._forward(t, d)
        if local is None:
            return self._from_us(due)
        return local + timedelta(microseconds=due - start_us)

    def add_iso(self, start: datetime, working_us: int) -> tuple[str, bool]:
        """`add` for writers of many answers (`connector due --batch`): the due moment `working_us`
        microseconds of working time after `start`, as `add(...).isoformat()` writes it, and
        whether it is provisional. The same answers, without an aware datetime per answer."""
        try:
            t = (start - EPOCH) // ONE_US
        except TypeError:  # naive
            t = to_us(start)
        if not (0 < working_us <= MAX_DURATION_US and self._safe[0] <= t < self._safe[1]):
            if not 0 < working_us <= MAX_DURATION_US:
                due_moment = self.add(start, timedelta(microseconds=working_us))
                return due_moment.isoformat(), self.is_provisional(due_moment)
            self._cover(t)
        # _forward's two bisections, inline: this runs for every line of a batch
        starts, ends, cum, cum_end, local_starts = self._arrays
        i = bisect.bisect_right(starts, t) - 1
        target = working_us + (cum[i] + min(t - starts[i], ends[i] - starts[i]) if i >= 0 else 0)
        if target > cum_end[-1]:
            self._cover_working_time(target)  # later years only: cum values stay the same
            starts, ends, cum, cum_end, local_starts = self._arrays
        j = bisect.bisect_left(cum_end, target)
        start_us = starts[j]
        due = start_us + target - cum[j]
        known_lo, known_hi = self._known
        if not (known_lo <= t and due < known_hi):
            self._note_provisional(t, due)
        provisional = not known_lo <= due < known_hi
        local = local_starts[j]
        if local is None:
            return self._from_us(due).isoformat(), provisional
        parts = self._iso_parts.get(start_us)
        if parts is None:
            parts = self._iso_parts[start_us] = _iso_parts(local)
        day, first, offset, naive = parts
        seconds, micro = divmod(due - start_us, 1_000_000)
        seconds += first
        if micro or seconds >= 86400:  # a fraction of a second, or past the start's local day
            return (naive + timedelta(microseconds=due - start_us)).isoformat() + offset, provisional
        hour, seconds = divmod(seconds, 3600)
        minute, second = divmod(seconds, 60)
        return f"{day}{TWO_DIGITS[hour]}:{TWO_DIGITS[minute]}:{TWO_DIGITS[second]}{offset}", provisional

    def _forward(self, t: int, d: int) -> tuple[int, int, datetime | None]:
        """(due, start of its interval, in us; that start as a local datetime or None) for d > 0."""
        if not self._safe[0] <= t < self._safe[1]:
            self._cover(t)
        # the hot path: two bisections (kept inline: this runs for every due date)
        starts, ends, cum, cum_end, local_starts = self._arrays
        i = bisect.bisect_right(starts, t) - 1
        target = d + (cum[i] + min(t - starts[i], ends[i] - starts[i]) if i >= 0 else 0)
        if target > cum_end[-1]:
            self._cover_working_time(target)  # later years only: cum values stay the same
            starts, ends, cum, cum_end, local_starts = self._arrays
        j = bisect.bisect_left(cum_end, target)
        due = starts[j] + target - cum[j]
        if not (self._known[0] <= t and due < self._known[1]):
            self._note_provisional(t, due)
        return due, starts[j], local_starts[j]

    def between(self, start: datetime, end: datetime) -> timedelta:
        """Working time from `start` to `end` (negative when `end` is earlier)."""
        a, b = to_us(start), to_us(end)
        self._cover(min(a, b))
        self._cover(max(a, b))
        self._note_provisional(min(a, b), max(a, b))
        return timedelta(microseconds=self._cum_at(b) - self._cum_at(a))

    def is_working(self, moment: datetime) -> bool:
        """Whether `moment` is inside working time (an opening is, a closing is not)."""
        t = to_us(moment)
        self._cover(t)
        starts, ends = self._arrays[:2]
        i = bisect.bisect_right(starts, t) - 1
        return i >= 0 and t < ends[i]

    def _at_working_edge(self, t: int) -> bool:
        """Inside working time or exactly at a closing time."""
        starts, ends = self._arrays[:2]
        i = bisect.bisect_right(starts, t) - 1
        return i >= 0 and t <= ends[i]

    def next_opening(self, moment: datetime) -> datetime:
        """`moment` itself if it is working time, else the next opening, in the calendar's zone."""
        t = to_us(moment)
        self._cover(t)
        if self.is_working(moment):
            return self._from_us(t)
        i = bisect.bisect_right(self._arrays[0], t)
        while i >= len(self._arrays[0]):
            self._cover_working_time((self._arrays[3][-1] if self._arrays[3] else 0) + 1)
            i = bisect.bisect_right(self._arrays[0], t)
        return self._from_us(self._arrays[0][i])

    def is_provisional(self, moment: datetime) -> bool:
        """Whether `moment` falls outside the dates this calendar's data is known for."""
        return self._outside_known(to_us(moment))

    def local(self, moment: datetime) -> datetime:
        """`moment` in the calendar's zone."""
        return self._from_us(to_us(moment))
