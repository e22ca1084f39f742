"""The `holidays` package's Russian days off and working weekend days, for the production
calendar. Importing the package costs about a third of a second (it loads every country), more
than a whole `connector due` may take; so the years around today are read from a snapshot of its
answers that ships with the connector (`connector/data/ru_holidays_snapshot.json`), and the package
is imported only for a year outside it. tests/test_calendar_files.py checks that the snapshot
equals what the installed package says; `python -m connector.config.holidays_source` rewrites it."""

from __future__ import annotations

import json
import sys
from datetime import date
from functools import cache, lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

SNAPSHOT = "ru_holidays_snapshot.json"
YEARS = range(2020, 2036)  # the snapshot's years


@lru_cache(maxsize=1)
def _snapshot() -> dict[int, tuple[frozenset[date], frozenset[date]]]:
    doc = json.loads((resources.files("connector") / "data" / SNAPSHOT).read_text(encoding="utf-8"))
    return {
        int(year): (
            frozenset(map(date.fromisoformat, body["days_off"])),
            frozenset(map(date.fromisoformat, body["working_days"])),
        )
        for year, body in doc["years"].items()
    }


def from_package(year: int) -> tuple[frozenset[date], frozenset[date]]:
    """The installed `holidays` package's RU days off and working weekend days of `year`."""
    import holidays  # imported here: the snapshot spares `connector due` its load time

    package = holidays.country_holidays("RU", years=year)
    return frozenset(package), frozenset(d for d in package.weekend_workdays if d.year == year)


@cache
def ru_holidays(year: int) -> tuple[frozenset[date], frozenset[date]]:
    """RU days off and working weekend days of `year`: the snapshot's, else the package's."""
    return _snapshot().get(year) or from_package(year)


def snapshot_document() -> dict[str, Any]:
    """What the snapshot file holds, from the installed package."""
    import holidays

    years: dict[str, dict[str, list[str]]] = {}
    for year in YEARS:
        off, working = from_package(year)
        years[str(year)] = {
            "days_off": sorted(d.isoformat() for d in off),
            "working_days": sorted(d.isoformat() for d in working),
        }
    return {
        "about": "The holidays package's RU days off and working weekend days, as "
        f"holidays {holidays.__version__} gives them: a snapshot read at start-up instead of importing "
        "the package (python -m connector.config.holidays_source rewrites it).",
        "years": years,
    }


if __name__ == "__main__":
    path = Path(__file__).resolve().parents[1] / "data" / SNAPSHOT
    path.write_text(json.dumps(snapshot_document(), indent=1) + "\n", encoding="utf-8")
    sys.stdout.write(f"wrote {path}\n")
