"""Properties of every calendar (hypothesis): due never before start, always in working time
or at a closing, additive, and consistent with `between`."""

from datetime import datetime, timedelta

import pytz
from hypothesis import given, settings
from hypothesis import strategies as st

from connector.config.calendars import build_calendar

CALENDARS = {
    "default": build_calendar("default"),
    "full-days": build_calendar("default", shortened=False),
    "24x7-berlin": build_calendar(
        {
            "zone": "Europe/Berlin",
            "holidays": "none",
            "weekdays": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
            "hours": ["00:00-24:00"],
        }
    ),
    "lunch-break-new-york": build_calendar(
        {
            "zone": "America/New_York",
            "holidays": "none",
            "hours": {
                "mon": ["09:00-12:00", "13:00-17:30"],
                "tue": ["09:00-17:00"],
                "wed": ["09:00-17:00"],
                "thu": ["09:00-17:00"],
                "fri": ["09:00-12:00"],
                "sat": ["10:00-14:00"],
            },
            "weekdays": ["mon", "tue", "wed", "thu", "fri", "sat"],
        }
    ),
}
ZONES = [pytz.utc, pytz.timezone("Europe/Moscow"), pytz.timezone("Europe/Berlin"), pytz.timezone("America/New_York")]
US = timedelta(microseconds=1)

calendars = st.sampled_from(sorted(CALENDARS)).map(CALENDARS.get)
moments = st.builds(
    lambda naive, zone: zone.normalize(pytz.utc.localize(naive).astimezone(zone)),
    st.datetimes(datetime(2024, 6, 1), datetime(2028, 6, 1)),
    st.sampled_from(ZONES),
)
durations = st.integers(min_value=0, max_value=300 * 3600 * 10**6).map(lambda us: timedelta(microseconds=us))


@settings(max_examples=300, deadline=None)
@given(calendars, moments, durations)
def test_due_is_never_before_start_and_in_working_time(cal, start, hours):
    due = cal.add(start, hours)
    assert due >= start
    assert due.tzinfo.zone == cal.zone.zone
    assert cal.is_working(due) or cal.is_working(due - US)  # inside, or exactly at a closing


@settings(max_examples=300, deadline=None)
@given(calendars, moments, durations, durations)
def test_adding_a_then_b_is_adding_a_plus_b(cal, start, a, b):
    assert cal.add(cal.add(start, a), b) == cal.add(start, a + b)


@settings(max_examples=300, deadline=None)
@given(calendars, moments, durations)
def test_between_start_and_due_is_the_duration(cal, start, hours):
    assert cal.between(start, cal.add(start, hours)) == hours


whole_seconds = moments.map(lambda moment: moment.replace(microsecond=0))
whole_durations = st.integers(min_value=0, max_value=300 * 3600).map(lambda s: timedelta(seconds=s))


@settings(max_examples=500, deadline=None)
@given(calendars, st.one_of(moments, whole_seconds), st.one_of(durations, whole_durations))
def test_add_iso_writes_what_add_answers(cal, start, hours):
    """The batch's path (`add_iso`) gives add's answer as isoformat writes it, and its provisional mark."""
    due = cal.add(start, hours)
    assert cal.add_iso(start, hours // US) == (due.isoformat(), cal.is_provisional(due))
