"""Calendars from files: TOML/JSON, lunch breaks, admin days off and working days, .ics, errors."""

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import pytz

from connector.config.calendars import build_calendar, load_calendar_file
from connector.core.errors import BadInput, ValidationFailed

FIXTURES = Path(__file__).parent / "fixtures" / "calendars"
EKB = pytz.timezone("Asia/Yekaterinburg")


def ekb(*args) -> datetime:
    return EKB.localize(datetime(*args))


@pytest.fixture(scope="module")
def office():
    return load_calendar_file(FIXTURES / "office.toml")


@pytest.mark.parametrize(
    "start,hours,due",
    [
        (ekb(2026, 11, 24, 12), 2, ekb(2026, 11, 24, 15)),  # the lunch break does not count
        (ekb(2026, 11, 24, 13, 30), 1, ekb(2026, 11, 24, 15)),  # start inside the break
        (ekb(2026, 11, 27, 16), 2, ekb(2026, 11, 28, 11)),  # Friday closes at 17, Saturday mornings
        (ekb(2026, 11, 25, 17), 2, ekb(2026, 11, 27, 10)),  # 26.11 is off (.ics)
        (ekb(2027, 7, 14, 17), 2, ekb(2027, 7, 17, 11)),  # 15-16.07 off every year (.ics RRULE)
        (ekb(2026, 12, 29, 17), 2, ekb(2027, 1, 9, 11)),  # 30.12 (admin), 31.12, 1-8.01 off; Sat 9.01 open
        (ekb(2026, 1, 9, 12), 1, ekb(2026, 1, 10, 11)),  # 9.01 off; Sat 10.01 an admin working day
        (ekb(2026, 4, 30, 16), 2, ekb(2026, 5, 2, 11)),  # shortened 30.04 closes at 17; 1.05 off; Sat 2.05 open
    ],
)
def test_office_calendar(office, start, hours, due):
    assert office.add(start, timedelta(hours=hours)) == due


def test_json_calendar_and_24x7(tmp_path):
    path = tmp_path / "night.json"
    path.write_text(json.dumps({"zone": "UTC", "holidays": "none", "hours": ["22:00-24:00", "00:00-06:00"][::-1]}))
    night = load_calendar_file(path)
    start = pytz.utc.localize(datetime(2026, 11, 24, 23))
    assert night.add(start, timedelta(hours=3)) == pytz.utc.localize(datetime(2026, 11, 25, 2))
    always = load_calendar_file("24x7")
    assert always.add(start, timedelta(hours=100)) == start + timedelta(hours=100)


@pytest.mark.parametrize(
    "content,suffix,message",
    [
        ("zone = 'Mars/Olympus'", ".toml", "unknown time zone 'Mars/Olympus'"),
        ("zone = 'UTC'\nhours = ['18:00-10:00']", ".toml", "end must be after start"),
        ("zone = 'UTC'\nhours = ['10:00-14:00', '13:00-18:00']", ".toml", "overlaps"),
        ("zone = 'UTC'\nweekdays = []", ".toml", "no working hours"),
        ("zone = 'UTC'\ndays_off = ['2026-01-05']\nworking_days = ['2026-01-05']", ".toml", "both off and working"),
        ("zone = 'UTC'\ndays_off_ics = ['missing.ics']", ".toml", "cannot read iCalendar file"),
        ("zone = 'UTC'\ndays_off_ics = ['bad.ics']", ".toml", "not a valid iCalendar file"),
        ("zone = ", ".toml", "not valid TOML"),
        ("{", ".json", "not valid JSON"),
    ],
)
def test_bad_calendar_files_name_the_problem(tmp_path, content, suffix, message):
    (tmp_path / "bad.ics").write_text("this is not a calendar")
    path = tmp_path / f"cal{suffix}"
    path.write_text(content)
    with pytest.raises(BadInput, match=message) as caught:
        load_calendar_file(path).add(pytz.utc.localize(datetime(2026, 1, 5, 12)), timedelta(hours=1))
    assert str(path) in str(caught.value)


def test_schema_violations_list_every_problem():
    with pytest.raises(ValidationFailed) as caught:
        build_calendar({"zone": "UTC", "hours": ["9-17"], "weekdays": ["monday"], "extra": 1})
    text = str(caught.value)
    assert "/hours" in text and "/weekdays/0" in text and "extra" in text


def test_ics_exdate_excludes_an_occurrence_and_timed_events_count_in_the_calendars_zone(tmp_path):
    """recurring-ical-events expands RRULE minus EXDATE; a timed event written in UTC covers the
    local dates of the calendar's zone (Berlin: Friday, not Thursday)."""
    from datetime import date

    from connector.config.ics import ics_days_off

    berlin = ics_days_off(FIXTURES / "exdate-and-timed.ics", pytz.timezone("Europe/Berlin"))
    assert {d for d in berlin if d.year == 2026 and d.month <= 4} == {
        date(2026, 1, 5),
        date(2026, 3, 5),
        date(2026, 4, 5),
    }  # February's is excluded, COUNT=4 ends in April
    assert date(2026, 11, 27) in berlin and date(2026, 11, 26) not in berlin
    moscow = ics_days_off(FIXTURES / "exdate-and-timed.ics", pytz.timezone("Europe/Moscow"))
    assert {date(2026, 11, 27), date(2026, 11, 28)} <= moscow  # 02:00 Friday to 02:00 Saturday there


@pytest.mark.parametrize(
    "rule, message",
    [
        ("FREQ=MINUTELY", "recurs minutely: days off recur daily at most"),
        (
            "FREQ=DAILY;BYHOUR=0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23",
            "recurs several times a day: days off recur daily at most",
        ),
        ("FREQ=DAILY", "recur more than 10,000 times before 2100"),
    ],
)
def test_an_ics_rule_too_dense_for_days_off_is_refused_quickly(tmp_path, rule, message):
    """Expanding such a rule to 2100 would take hours and gigabytes: it is refused by its kind,
    or by its count as it is expanded (every day passes 10,000 within 28 years)."""
    from connector.config.ics import ics_days_off

    path = tmp_path / "dense.ics"
    path.write_text(
        "BEGIN:VCALENDAR\nBEGIN:VEVENT\nSUMMARY:dense\nDTSTART:20260101T000000\n"
        f"RRULE:{rule}\nEND:VEVENT\nEND:VCALENDAR\n"
    )
    with pytest.raises(BadInput, match=message):
        ics_days_off(path, pytz.utc)


def test_the_holidays_snapshot_is_what_the_installed_package_says():
    """The snapshot spares `connector due` the package's import; it must not drift from it
    (python -m connector.config.holidays_source rewrites it after a package upgrade)."""
    import json
    from importlib import resources

    from connector.config.holidays_source import SNAPSHOT, snapshot_document

    shipped = json.loads((resources.files("connector") / "data" / SNAPSHOT).read_text(encoding="utf-8"))
    assert shipped["years"] == snapshot_document()["years"]
