"""Bugs that type checking (mypy, see pyproject's [tool.mypy]) found: each test failed before its fix."""
import pytest
import pytz

from connector.config.ics import ics_days_off
from connector.core.errors import BadInput


@pytest.mark.parametrize("value", ["DTSTART;VALUE=UTC-OFFSET:+0100", "DTSTART;VALUE=GEO:1.0;2.0"])
def test_an_ics_start_of_a_value_type_that_prints_as_text_is_refused_naming_the_file(tmp_path, value):
    """A DTSTART that is not a date is quoted in the error; icalendar serialises UTC offsets and
    geographic positions as str, not bytes, and decoding that str was a TypeError, not a BadInput."""
    path = tmp_path / "odd.ics"
    path.write_text(f"BEGIN:VCALENDAR\nBEGIN:VEVENT\nSUMMARY:odd\n{value}\nEND:VEVENT\nEND:VCALENDAR\n")
    with pytest.raises(BadInput, match=r"DTSTART '.+' is not a date") as caught:
        ics_days_off(path, pytz.utc)
    assert caught.value.where == str(path)
