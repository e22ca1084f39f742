"""`connector due`: when is N working hours after a moment due, on a business calendar."""

from __future__ import annotations

import json
import logging
import math
import re
import sys
from collections.abc import Iterable
from datetime import datetime, timedelta
from json.encoder import encode_basestring_ascii
from typing import Any, TextIO

import click
import pytz

from connector.cli import short_help
from connector.config.calendars import load_calendar_file
from connector.core.calendar import ONE_US, BusinessCalendar
from connector.core.errors import BadInput, ConnectorError


def parse_moment(text: Any, zone: str | None = None) -> datetime:
    """An ISO 8601 moment with a UTC offset (or a naive one read in `zone`)."""
    if not isinstance(text, str):
        raise BadInput(f"start must be an ISO 8601 string, not {type(text).__name__}")
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise BadInput(f"not an ISO 8601 date-time: {text!r}") from None
    if moment.tzinfo is None:
        if zone is None:
            raise BadInput(f"{text!r} has no UTC offset: add one (e.g. +03:00 or Z) or pass --zone")
        try:
            moment = pytz.timezone(zone).localize(moment)
        except pytz.UnknownTimeZoneError:
            raise BadInput(f"unknown time zone {zone!r}") from None
    return moment


def parse_hours(value: Any) -> timedelta:
    """A finite, non-negative number of working hours."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BadInput(f"hours must be a number, not {value!r}")
    if not math.isfinite(value) or value < 0:
        raise BadInput(f"hours must be a finite number >= 0, not {value!r}")
    return timedelta(hours=value)


# A line as json.dumps writes it, {"start": "...", "hours": N}, with a start of printable ASCII
# (no quote, backslash or surrounding space) and a JSON number: read by this pattern, a third of
# the time of json.loads. The start is then its own JSON text, the number is read as json.loads
# reads it (int, or float when it has a fraction or exponent). Any other line goes to json.loads.
_PLAIN_LINE = re.compile(
    r'\{"start": "([!#-\[\]-~](?:[ !#-\[\]-~]*[!#-\[\]-~])?)", "hours": '
    r"(-?(?:0|[1-9][0-9]{0,15})(\.[0-9]{1,17})?([eE][-+]?[0-9]{1,3})?)\}\n?\Z"
)


def _batch(calendar: BusinessCalendar, zone: str | None, lines: Iterable[str], out: TextIO, err: TextIO) -> int:
    """Answer JSON lines in order (written in blocks: a line at a time would cost more than the
    answer); report bad lines on `err` with their number; count failures."""
    failed, block = 0, []
    loads, quote, add_iso, plain = json.loads, encode_basestring_ascii, calendar.add_iso, _PLAIN_LINE.match
    fromisoformat = datetime.fromisoformat
    durations: dict[Any, int] = {}  # hours -> working us: batches repeat a few targets
    plain_hours: dict[str, tuple[int, str]] = {}  # a plain line's hours text -> (working us, repr)
    for number, line in enumerate(lines, start=1):
        try:
            match = plain(line)
            if match is not None:
                start, text, fraction, exponent = match.groups()
                known = plain_hours.get(text)
                if known is None:
                    value = float(text) if fraction or exponent else int(text)
                    known = (parse_hours(value) // ONE_US, repr(value))
                    if len(plain_hours) < 10_000:
                        plain_hours[text] = known
                duration, hours_text = known
                try:
                    moment = fromisoformat(start)
                except ValueError:
                    moment = None
                if moment is None or moment.tzinfo is None:
                    moment = parse_moment(start, zone)  # a zone to read it in, or the error
                due, provisional = add_iso(moment, duration)
                extra = ', "provisional": true' if provisional else ""
                block.append(f'{{"start": "{start}", "hours": {hours_text}, "due": "{due}"{extra}}}\n')
            else:
                try:
                    item = loads(line)
                except json.JSONDecodeError as exc:
                    if not line.strip():
                        continue
                    raise BadInput(f"not valid JSON: {exc.msg}") from None
                except (ValueError, RecursionError) as exc:
                    raise BadInput(f"not usable JSON: {exc}") from None
                if type(item) is not dict or "start" not in item or "hours" not in item:
                    raise BadInput('expected an object with "start" and "hours"')
                start, hours = item["start"], item["hours"]
                cached = durations.get(hours) if type(hours) in (int, float) else None
                if cached is None:
                    duration = parse_hours(hours) // ONE_US
                    if len(durations) < 10_000:
                        durations[hours] = duration
                else:
                    duration = cached
                due, provisional = add_iso(parse_moment(start, zone), duration)
                extra = ', "provisional": true' if provisional else ""
                block.append(f'{{"start": {quote(start)}, "hours": {hours!r}, "due": "{due}"{extra}}}\n')
        except ConnectorError as exc:
            failed += 1
            err.write(f"line {number}: {exc}\n")
            continue
        if len(block) >= 2048:
            out.write("".join(block))
            block.clear()
    out.write("".join(block))
    return failed


@click.command("due", short_help=short_help("due"))
@click.option("--start", metavar="ISO8601", help="Start moment with a UTC offset, e.g. 2026-12-30T15:00:00+03:00.")
@click.option("--hours", type=float, metavar="H", help="Working hours to add (>= 0, fractions allowed).")
@click.option(
    "--batch",
    is_flag=True,
    help='Read JSON lines {"start": ..., "hours": ...} on stdin, '
    'write {"start", "hours", "due"} lines on stdout in the same order.',
)
@click.option("--no-shortened", is_flag=True, help="Ignore shortened pre-holiday days (full 8-hour days).")
@click.option(
    "--calendar",
    "calendar_path",
    metavar="FILE",
    default="default",
    show_default=True,
    help='Calendar file (.toml or .json, see schemas/calendar.schema.json) or "24x7".',
)
@click.option("--zone", metavar="ZONE", help="Read a start without UTC offset in this IANA zone.")
def due(
    start: str | None, hours: float | None, batch: bool, no_shortened: bool, calendar_path: str, zone: str | None
) -> None:
    """Print the due moment HOURS working hours after START, as ISO 8601 in the calendar's zone.

    The default calendar is the vendor's: 10:00-18:00 Mon-Fri, Europe/Moscow, Russian production
    calendar with shortened pre-holiday days. A due moment that lands exactly at a closing time is
    that closing time (18:00); zero hours from inside working time or exactly at a closing time is
    the start itself, from outside it the next opening. Beyond the calendar's data horizon the
    answer is marked provisional (a note on stderr; "provisional": true in --batch).

    \b
    Examples:
      connector due --start 2026-12-30T15:00:00+03:00 --hours 16
      connector due --start 2026-11-24T09:00:00 --zone Europe/Berlin --hours 1
      connector due --start 2026-11-24T10:00:00Z --hours 40 --calendar examples/office.toml
      printf '%s\\n' '{"start": "2026-11-24T10:00:00Z", "hours": 40}' | connector due --batch
    """
    if zone is not None and zone not in pytz.all_timezones_set:
        raise BadInput(f"unknown time zone {zone!r} (an IANA zone, e.g. Europe/Berlin)")
    # the note below says it for this command; the engine's log warning is for services (and
    # for whatever runs in this process after the command: the level is put back)
    engine_log = logging.getLogger("connector.core.calendar")
    level = engine_log.level
    engine_log.setLevel(logging.ERROR)
    try:
        _due(start, hours, zone, batch, no_shortened, calendar_path)
    finally:
        engine_log.setLevel(level)


def _due(
    start: str | None, hours: float | None, zone: str | None, batch: bool, no_shortened: bool, calendar_path: str
) -> None:
    calendar = load_calendar_file(calendar_path, shortened=False if no_shortened else None)
    if batch:
        if start is not None or hours is not None:
            raise click.UsageError("--batch reads its starts and hours from stdin; drop --start/--hours")
        failed = _batch(calendar, zone, sys.stdin, sys.stdout, sys.stderr)
        if failed:
            click.echo(f"error: {failed} line(s) failed", err=True)
            sys.exit(2)
        return
    if start is None or hours is None:
        raise click.UsageError("give --start and --hours (or --batch)")
    moment = calendar.add(parse_moment(start, zone), parse_hours(hours))
    click.echo(moment.isoformat())
    if calendar.is_provisional(moment):
        click.echo(
            f"note: provisional: beyond the data of calendar {calendar.name!r} "
            f"({calendar.known_from}..{calendar.horizon}); weekends and fixed holidays only",
            err=True,
        )


COMMANDS = {"due": due}
