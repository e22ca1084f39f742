"""The Russian production calendar: days off and working Saturdays from `holidays` (RU),
shortened pre-holiday days from the data we ship (no library has them; the config layer reads
`connector/data/ru_production_calendar.json` and hands it over)."""
from __future__ import annotations

from datetime import date

import holidays

from connector.core.day_rules import parse_dates


class RussianProductionCalendar:
    """Official RU days off, working weekend days and shortened days for any year; known
    (decreed) only for the years in the data file, fixed-date holidays beyond."""

    def __init__(self, data: dict) -> None:
        self._years = {int(y): body for y, body in data["years"].items()}
        self.known_from = date(min(self._years), 1, 1)
        self.horizon = date(max(self._years), 12, 31)

    def sources(self) -> dict[int, str]:
        """Which decree each known year comes from."""
        return {y: body.get("source", "") for y, body in sorted(self._years.items())}

    def _package(self, year: int) -> holidays.HolidayBase:
        return holidays.country_holidays("RU", years=year)

    def days_off(self, year: int) -> frozenset[date]:
        extra = parse_dates(self._years.get(year, {}).get("days_off", ()))
        return frozenset(self._package(year)) | extra

    def working_days(self, year: int) -> frozenset[date]:
        extra = parse_dates(self._years.get(year, {}).get("working_days", ()))
        package = self._package(year)
        return frozenset(d for d in package.weekend_workdays if d.year == year) | extra

    def shortened_days(self, year: int) -> frozenset[date]:
        return parse_dates(self._years.get(year, {}).get("shortened_days", ()))
