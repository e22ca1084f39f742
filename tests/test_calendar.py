"""Hand-checked due dates on the vendor's default calendar (10:00-18:00 Mon-Fri, Moscow, RU)."""

from datetime import datetime, timedelta, timezone

import pytest
import pytz

from connector.config.calendars import build_calendar
from connector.core.errors import BadInput

MSK, BERLIN, NEW_YORK = (pytz.timezone(z) for z in ("Europe/Moscow", "Europe/Berlin", "America/New_York"))


def msk(*args) -> datetime:
    return MSK.localize(datetime(*args))


CASES = [
    # (why, start, hours, due with shortened days, due without)
    ("within one day", msk(2026, 11, 24, 10), 3, msk(2026, 11, 24, 13), None),
    ("ends exactly at closing", msk(2026, 11, 24, 10), 8, msk(2026, 11, 24, 18), None),
    ("starts at closing", msk(2026, 11, 24, 18), 1, msk(2026, 11, 25, 11), None),
    ("weekend crossing", msk(2026, 11, 27, 16), 4, msk(2026, 11, 30, 12), None),
    ("before opening", msk(2026, 11, 24, 8), 1, msk(2026, 11, 24, 11), None),
    ("after closing", msk(2026, 11, 24, 19), 1, msk(2026, 11, 25, 11), None),
    ("on a weekend", msk(2026, 11, 28, 12), 2, msk(2026, 11, 30, 12), None),
    ("2025/26 New Year: 31.12 and 1-11.01 off", msk(2025, 12, 30, 17), 2, msk(2026, 1, 12, 11), None),
    ("2026/27 New Year: 31.12 and 1-10.01 off", msk(2026, 12, 30, 15), 16, msk(2027, 1, 12, 15), None),
    ("May 2026: shortened 30.04, 1-3.05 off", msk(2026, 4, 30, 16), 8, msk(2026, 5, 4, 17), msk(2026, 5, 4, 16)),
    ("May 2026: shortened 08.05, 9-11.05 off", msk(2026, 5, 7, 17), 9, msk(2026, 5, 12, 11), msk(2026, 5, 8, 18)),
    ("working Saturday 2025-11-01 (shortened)", msk(2025, 10, 31, 17), 3, msk(2025, 11, 1, 12), None),
    ("after 2025-11-01: 2-4.11 off", msk(2025, 11, 1, 10), 8, msk(2025, 11, 5, 11), msk(2025, 11, 1, 18)),
    ("working Saturday 2027-02-20 (shortened)", msk(2027, 2, 19, 17), 9, msk(2027, 2, 24, 11), msk(2027, 2, 20, 18)),
    ("zero hours on a weekend: next opening", msk(2026, 11, 28, 12), 0, msk(2026, 11, 30, 10), None),
    ("zero hours at closing: that closing", msk(2026, 11, 24, 18), 0, msk(2026, 11, 24, 18), None),
    ("fractions of an hour", msk(2026, 11, 24, 17, 30), 0.75, msk(2026, 11, 25, 10, 15), None),
    # starts given in other zones, across their DST changes; answers in Moscow time
    ("Berlin, CEST before its DST end", BERLIN.localize(datetime(2026, 10, 23, 8, 30)), 2, msk(2026, 10, 23, 12), None),
    (
        "Berlin, CET after its DST end",
        BERLIN.localize(datetime(2026, 10, 26, 8, 30)),
        2,
        msk(2026, 10, 26, 12, 30),
        None,
    ),
    ("Berlin, CET before its DST start", BERLIN.localize(datetime(2026, 3, 27, 15)), 2, msk(2026, 3, 30, 11), None),
    (
        "New York, EST: Friday 17:00 MSK, 9.03 off",
        NEW_YORK.localize(datetime(2026, 3, 6, 9)),
        2,
        msk(2026, 3, 10, 11),
        None,
    ),
    ("New York, EDT after its DST start", NEW_YORK.localize(datetime(2026, 3, 9, 3)), 1, msk(2026, 3, 10, 11), None),
    ("New York, EDT before its DST end", NEW_YORK.localize(datetime(2026, 10, 30, 3)), 8, msk(2026, 10, 30, 18), None),
    ("New York, EST after its DST end", NEW_YORK.localize(datetime(2026, 11, 2, 2)), 8, msk(2026, 11, 2, 18), None),
]


@pytest.mark.parametrize("why,start,hours,due,due_full_days", CASES, ids=[c[0] for c in CASES])
def test_due_dates(why, start, hours, due, due_full_days):
    got = build_calendar("default").add(start, timedelta(hours=hours))
    assert got == due and got.utcoffset() == timedelta(hours=3), why
    full = build_calendar("default", shortened=False).add(start, timedelta(hours=hours))
    assert full == (due_full_days or due), why


def test_production_year_norms():
    """The decreed norms: 247 working days in each of 2025-2027, 4 of them shortened (1972 h)."""
    cal = build_calendar("default")
    for year in (2025, 2026, 2027):
        hours = cal.between(msk(year, 1, 1), msk(year + 1, 1, 1)) / timedelta(hours=1)
        assert hours == 247 * 8 - 4, year
    full = build_calendar("default", shortened=False)
    assert full.between(msk(2026, 1, 1), msk(2027, 1, 1)) == timedelta(hours=247 * 8)


def test_between_and_working_time():
    cal = build_calendar("default")
    assert cal.between(msk(2026, 11, 27, 17), msk(2026, 11, 30, 11)) == timedelta(hours=2)
    assert cal.between(msk(2026, 11, 30, 11), msk(2026, 11, 27, 17)) == -timedelta(hours=2)
    assert cal.is_working(msk(2026, 11, 24, 10)) and not cal.is_working(msk(2026, 11, 24, 18))
    assert not cal.is_working(msk(2026, 11, 4, 12))  # Unity Day
    assert cal.is_working(msk(2027, 2, 20, 16, 59)) and not cal.is_working(msk(2027, 2, 20, 17))
    assert cal.next_opening(msk(2026, 12, 31, 12)) == msk(2027, 1, 11, 10)
    assert cal.next_opening(msk(2026, 11, 24, 12)) == msk(2026, 11, 24, 12)


def test_beyond_the_horizon_is_provisional_and_warned_once(caplog):
    cal = build_calendar("default", shortened=True)
    cal._warned = False  # the built-in calendar is shared; this test watches its one warning
    due = cal.add(msk(2028, 5, 8, 17), timedelta(hours=2))
    assert due == msk(2028, 5, 10, 11)  # 9 May (fixed-date holiday) is still off
    assert cal.is_provisional(due) and not cal.is_provisional(msk(2027, 12, 31, 17))
    cal.add(msk(2029, 1, 9, 10), timedelta(hours=1))
    assert [r.levelname for r in caplog.records if "provisional" in r.getMessage()] == ["WARNING"]


@pytest.mark.parametrize(
    "start,hours,message",
    [
        (datetime(2026, 11, 24, 10), 1, "naive datetime"),
        (msk(2026, 11, 24, 10), -1, "negative working time"),
        (msk(2026, 11, 24, 10), 10_000_000, "more than any SLA needs"),
        (msk(2026, 11, 24, 10), 900_000, "no working time left"),
        (msk(1850, 1, 1, 10), 1, "supported range"),
        (datetime(1, 1, 1, 1, tzinfo=timezone(timedelta(hours=3))), 1, "supported range"),  # in UTC, year 0
        (datetime(9999, 12, 31, 22, tzinfo=timezone(timedelta(hours=-5))), 0, "supported range"),  # year 10000
    ],
)
def test_bad_input_is_a_clear_error(start, hours, message):
    with pytest.raises(BadInput, match=message):
        build_calendar("default").add(start, timedelta(hours=hours))


@pytest.mark.parametrize(
    "zone",
    [
        "Europe/Moscow",
        "Europe/Berlin",
        "America/New_York",
        "Europe/Dublin",
        "Australia/Lord_Howe",
        "Africa/Casablanca",
        "America/Sao_Paulo",
        "Asia/Kathmandu",
        "Pacific/Apia",
        "UTC",
        "Etc/GMT-3",
    ],
)
def test_local_moments_are_those_pytz_localize_gives(zone):
    """The lay-out reads local openings and closings at the offset of the day when no transition is
    near (`_local_us`): the answers of pytz's localize, also in gaps, repeats and odd offsets."""
    from connector.core.calendar import to_us

    cal = build_calendar({"zone": zone, "holidays": "none", "hours": ["10:00-18:00"]})
    tz = pytz.timezone(zone)
    moments = [
        datetime(year, 1, 1) + timedelta(days=d) for year in (1900, 1975, 2011, 2026, 2199) for d in range(0, 365, 9)
    ]
    for utc in getattr(tz, "_utc_transition_times", [])[1:]:  # around every transition, each 30 minutes
        if 1900 <= utc.year < 2200:
            moments += [utc.replace(second=0) + timedelta(minutes=m) for m in range(-26 * 60, 26 * 60 + 1, 30)]
    for naive in moments:
        day, minute = naive.date(), naive.hour * 60 + naive.minute
        assert cal._local_us(day, minute) == to_us(tz.localize(naive)), naive
