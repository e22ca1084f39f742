"""Days off from iCalendar files (a calendar's `days_off_ics`): every local date, in the calendar's
zone, that an event occurrence covers. Recurrence (RRULE, RDATE, EXDATE, moved instances) is the
well-kept `recurring-ical-events` library's job, not ours; a timed event counts by the dates it
covers in the calendar's zone (an event over all of a Friday in Berlin, written in UTC from
Thursday 22:00, is Friday), its end being exclusive."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, tzinfo
from pathlib import Path

import recurring_ical_events
from icalendar import Calendar

from connector.core.errors import BadInput

SPAN = (date(1970, 1, 1), date(2100, 1, 1))  # occurrences looked for (yearly rules run on)


def ics_days_off(path: Path, zone: tzinfo) -> frozenset[date]:
    """Every local date covered by the events of an iCalendar file."""
    try:
        calendar = Calendar.from_ical(path.read_bytes())
    except OSError as exc:
        raise BadInput(f"cannot read iCalendar file: {exc.strerror}", str(path)) from None
    except ValueError as exc:
        raise BadInput(f"not a valid iCalendar file: {exc}", str(path)) from None
    for event in calendar.walk("VEVENT"):
        if "DTSTART" not in event:
            raise BadInput(f"event {event.get('SUMMARY', '?')!r} has no DTSTART", str(path))
    try:
        occurrences = recurring_ical_events.of(calendar).between(*SPAN)
    except Exception as exc:  # noqa: BLE001 - the library's errors have no common base: name the file
        raise BadInput(f"cannot expand the events' recurrence: {type(exc).__name__}: {exc}", str(path)) from None
    days: set[date] = set()
    for event in occurrences:
        start, end = event.decoded("DTSTART"), event.decoded("DTEND") if "DTEND" in event else None
        days.update(_dates(start, end, zone))
    return frozenset(days)


def _dates(start: date | datetime, end: date | datetime | None, zone: tzinfo) -> list[date]:
    """The local dates an occurrence covers: all-day ones by their dates, timed ones in `zone`."""
    if not isinstance(start, datetime):
        last = (end if isinstance(end, date) and not isinstance(end, datetime) else start + timedelta(days=1))
        return [start + timedelta(days=i) for i in range(max((last - start).days, 1))]
    first = _local(start, zone)
    stop = _local(end, zone) if isinstance(end, datetime) else first
    last = stop.date() if stop.time() != time(0) or stop.date() == first.date() else stop.date() - timedelta(days=1)
    return [first.date() + timedelta(days=i) for i in range((last - first.date()).days + 1)]


def _local(moment: datetime, zone: tzinfo) -> datetime:
    """A moment in the calendar's zone (a floating one is taken as already local)."""
    return moment.astimezone(zone) if moment.tzinfo is not None else moment
