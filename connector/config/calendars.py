"""Build business calendars from calendar documents and files (TOML or JSON, plus .ics).

A calendar document is "default", "24x7" or an object (see schemas/calendar.schema.json).
"""

from __future__ import annotations

import json
from datetime import date
from functools import cache, lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import pytz

from connector.config.documents import read_document
from connector.config.holidays_source import ru_holidays
from connector.config.schemas import validate
from connector.core.calendar import BusinessCalendar
from connector.core.day_rules import DayRules, NoHolidays, ProductionCalendar, parse_dates, weekly_hours
from connector.core.errors import BadInput
from connector.core.production import RussianProductionCalendar

VENDOR = {
    "name": "default",
    "zone": "Europe/Moscow",
    "holidays": "ru",
    "weekdays": ["mon", "tue", "wed", "thu", "fri"],
    "hours": ["10:00-18:00"],
}
ALWAYS = {
    "name": "24x7",
    "zone": "UTC",
    "holidays": "none",
    "weekdays": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
    "hours": ["00:00-24:00"],
}


PRODUCTION_DATA = "ru_production_calendar.json"


@lru_cache(maxsize=1)
def russian_production_calendar() -> RussianProductionCalendar:
    """The shipped RU production calendar (`connector/data/ru_production_calendar.json`, read once)."""
    text = (resources.files("connector") / "data" / PRODUCTION_DATA).read_text(encoding="utf-8")
    return RussianProductionCalendar(json.loads(text), ru_holidays)


def build_calendar(doc: Any, base_dir: Path | None = None, shortened: bool | None = None) -> BusinessCalendar:
    """A calendar from a document; `shortened` overrides the document's own setting."""
    if isinstance(doc, str):
        return _builtin(doc, True if shortened is None else shortened)
    validate("calendar.schema.json#/$defs/calendar", doc, "calendar")
    return _from_mapping(doc, base_dir or Path.cwd(), shortened)


@cache
def _builtin(name: str, shortened: bool) -> BusinessCalendar:
    if name not in ("default", "24x7"):
        raise BadInput(f"unknown built-in calendar {name!r} (default, 24x7, or a calendar file)")
    return _from_mapping(VENDOR if name == "default" else ALWAYS, Path.cwd(), shortened)


def _from_mapping(doc: dict[str, Any], base_dir: Path, shortened: bool | None) -> BusinessCalendar:
    weekdays = doc.get("weekdays", VENDOR["weekdays"])
    week = weekly_hours(weekdays, doc.get("hours", VENDOR["hours"]))
    ru = russian_production_calendar() if doc.get("holidays", "ru") == "ru" else None
    production: ProductionCalendar = ru or NoHolidays()
    days_off = parse_dates(doc.get("days_off", ()))
    if doc.get("days_off_ics"):
        # imported here: icalendar and its recurrence library load in a tenth of a second, more
        # than `connector due` on a calendar without .ics files should pay
        from connector.config.ics import ics_days_off

        zone = pytz.timezone(doc["zone"]) if doc["zone"] in pytz.all_timezones_set else pytz.utc
        for ics in doc["days_off_ics"]:
            days_off |= ics_days_off(base_dir / ics, zone)
    rules = DayRules(
        week,
        production,
        days_off,
        parse_dates(doc.get("working_days", ())),
        parse_dates(doc.get("shortened_days", ())),
        doc.get("shortened", True) if shortened is None else shortened,
    )
    horizon = date.fromisoformat(doc["horizon"]) if "horizon" in doc else (ru.horizon if ru else None)
    return BusinessCalendar(doc.get("name", "custom"), doc["zone"], rules, horizon, ru.known_from if ru else None)


def load_calendar_file(path: str | Path, shortened: bool | None = None) -> BusinessCalendar:
    """A calendar from a .toml or .json file, or a built-in name ("default", "24x7")."""
    if str(path) in ("default", "24x7"):
        return build_calendar(str(path), shortened=shortened)
    path = Path(path)
    doc = read_document(path, "calendar")
    try:
        return build_calendar(doc, path.parent, shortened)
    except BadInput as exc:
        raise BadInput(exc.message, f"{path}: {exc.where}" if exc.where else str(path)) from None
