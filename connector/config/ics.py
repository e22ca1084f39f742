"""Days off from iCalendar files (a calendar's `days_off_ics`): every local date, in the calendar's
zone, that an event occurrence covers. Recurrence (RRULE, RDATE, EXDATE, moved instances) is the
well-kept `recurring-ical-events` library's job, not ours; a timed event counts by the dates it
covers in the calendar's zone (an event over all of a Friday in Berlin, written in UTC from
Thursday 22:00, is Friday), its end being exclusive."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import Any

import recurring_ical_events
from icalendar import Calendar

from connector.core.errors import BadInput

SPAN = (date(1970, 1, 1), date(2100, 1, 1))  # occurrences looked for (yearly rules run on)
MAX_ICS_BYTES = 16 << 20
MAX_EVENT_DAYS = 366  # one event of days off
SUB_DAILY = frozenset({"SECONDLY", "MINUTELY", "HOURLY"})
SUB_DAILY_PARTS = ("BYHOUR", "BYMINUTE", "BYSECOND")  # more than one value of any: several times a day
MAX_OCCURRENCES = 10_000  # 20 yearly days off to 2100 are 1,500; a weekly rule is 3,900


def ics_days_off(path: Path, zone: tzinfo) -> frozenset[date]:
    """Every local date covered by the events of an iCalendar file. A file that is not one
    (binary, not UTF-8, a date or a rule that does not parse, days off by the second) is a
    `BadInput` naming the file."""
    try:
        if path.stat().st_size > MAX_ICS_BYTES:
            raise BadInput(f"iCalendar file is over {MAX_ICS_BYTES >> 20} MiB", str(path))
        raw = path.read_bytes()
    except OSError as exc:
        raise BadInput(f"cannot read iCalendar file: {exc.strerror}", str(path)) from None
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadInput(f"iCalendar file is not UTF-8 text: {exc.reason} at byte {exc.start}", str(path)) from None
    try:
        calendar = Calendar.from_ical(raw)
    except (ValueError, TypeError, KeyError, AttributeError, IndexError, OverflowError, RecursionError) as exc:
        raise BadInput(f"not a valid iCalendar file: {type(exc).__name__}: {str(exc)[:200]}", str(path)) from None
    for event in calendar.walk("VEVENT"):
        if "DTSTART" not in event:
            raise BadInput(f"event {str(event.get('SUMMARY', '?'))!r} has no DTSTART", str(path))
        rules = event.get("RRULE")
        for rule in rules if isinstance(rules, list) else [rules] if rules is not None else []:
            freq = str((rule.get("FREQ") or ["?"])[0]).upper()
            if freq in SUB_DAILY:  # expanding it to 2100 would take hours and gigabytes
                raise BadInput(
                    f"event {str(event.get('SUMMARY', '?'))!r} recurs {freq.lower()}: days off recur daily at most",
                    str(path),
                )
            if any(len(rule.get(part) or []) > 1 for part in SUB_DAILY_PARTS):
                raise BadInput(
                    f"event {str(event.get('SUMMARY', '?'))!r} recurs several times a day: days off "
                    "recur daily at most",
                    str(path),
                )
        for name in ("DTSTART", "DTEND"):
            if name in event and not isinstance(_decoded(event, name), date):  # a broken value decodes as text
                raise BadInput(
                    f"not a valid iCalendar file: event {str(event.get('SUMMARY', '?'))!r}: {name} "
                    f"{_written(event[name])[:100]!r} is not a date",
                    str(path),
                )
    days: set[date] = set()
    try:
        for count, event in enumerate(recurring_ical_events.of(calendar).after(SPAN[0]), 1):
            start, end = event.decoded("DTSTART"), event.decoded("DTEND") if "DTEND" in event else None
            if _day(start) >= SPAN[1]:
                break
            if count > MAX_OCCURRENCES:  # a rule every minute to 2100 is not a calendar of days off
                raise BadInput(f"the events recur more than {MAX_OCCURRENCES:,} times before {SPAN[1].year}", str(path))
            covered = _dates(start, end, zone)
            if len(covered) > MAX_EVENT_DAYS:
                raise BadInput(
                    f"event {str(event.get('SUMMARY', '?'))!r} spans {len(covered)} days (days off span a few)",
                    str(path),
                )
            days.update(covered)
    except BadInput:
        raise
    except Exception as exc:  # noqa: BLE001 - the library's errors have no common base: name the file
        raise BadInput(
            f"cannot expand the events' recurrence: {type(exc).__name__}: {str(exc)[:200]}", str(path)
        ) from None
    return frozenset(days)


def _decoded(event: Any, name: str) -> object:
    try:
        return event.decoded(name)
    except Exception:  # noqa: BLE001 - icalendar raises many kinds for one broken value
        return None


def _written(prop: Any) -> str:
    """A property's value as the file writes it: bytes for most value types, str for a few
    (UTC-OFFSET, GEO)."""
    raw = prop.to_ical()
    return raw if isinstance(raw, str) else str(raw, "utf-8", "replace")


def _day(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


def _dates(start: date | datetime, end: date | datetime | None, zone: tzinfo) -> list[date]:
    """The local dates an occurrence covers: all-day ones by their dates, timed ones in `zone`."""
    if not isinstance(start, datetime):
        last = end if isinstance(end, date) and not isinstance(end, datetime) else start + timedelta(days=1)
        return [start + timedelta(days=i) for i in range(max((last - start).days, 1))]
    first = _local(start, zone)
    stop = _local(end, zone) if isinstance(end, datetime) else first
    last = stop.date() if stop.time() != time(0) or stop.date() == first.date() else stop.date() - timedelta(days=1)
    return [first.date() + timedelta(days=i) for i in range((last - first.date()).days + 1)]


def _local(moment: datetime, zone: tzinfo) -> datetime:
    """A moment in the calendar's zone (a floating one is taken as already local)."""
    return moment.astimezone(zone) if moment.tzinfo is not None else moment
