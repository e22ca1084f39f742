"""The Russian production calendar: days off and working Saturdays as the `holidays` package (RU)
gives them, shortened pre-holiday days from the data we ship (no library has them). The config
layer reads `connector/data/ru_production_calendar.json` and hands it over with the source of the
package's days (a snapshot of it for the years shipped, the package itself beyond)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from connector.core.day_rules import parse_dates

# year -> (the package's days off, its working weekend days) for that year
HolidaySource = Callable[[int], tuple[frozenset[date], frozenset[date]]]


class RussianProductionCalendar:
    """Official RU days off, working weekend days and shortened days for any year; known
    (decreed) only for the years in the data file, fixed-date holidays beyond."""

    def __init__(self, data: dict[str, Any], package: HolidaySource) -> None:
        self._years = {int(y): body for y, body in data["years"].items()}
        self._package = package
        self.known_from = date(min(self._years), 1, 1)
        self.horizon = date(max(self._years), 12, 31)

    def sources(self) -> dict[int, str]:
        """Which decree each known year comes from."""
        return {y: body.get("source", "") for y, body in sorted(self._years.items())}

    def days_off(self, year: int) -> frozenset[date]:
        extra = parse_dates(self._years.get(year, {}).get("days_off", ()))
        return self._package(year)[0] | extra

    def working_days(self, year: int) -> frozenset[date]:
        extra = parse_dates(self._years.get(year, {}).get("working_days", ()))
        return self._package(year)[1] | extra

    def shortened_days(self, year: int) -> frozenset[date]:
        return parse_dates(self._years.get(year, {}).get("shortened_days", ()))
