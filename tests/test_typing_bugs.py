"""Bugs that type checking (mypy, see pyproject's [tool.mypy]) found: each test failed before its fix."""

from datetime import UTC

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


def test_a_glpi_ticket_waiting_reports_since_when_from_begin_waiting_date():
    """The generic platform's `status_since` is keyed by the common status: it was looked up by
    the status's text ("pending"), found nothing, and every ticket's status_since was None."""
    import json
    from datetime import datetime
    from pathlib import Path

    from connector.config.settings import PlatformSettings
    from connector.core.ticket import TicketStatus
    from connector.platforms.generic import mapping
    from connector.platforms.generic.reading import TicketReader

    api = Path(__file__).parent / "fixtures" / "generic" / "api"
    settings = PlatformSettings(
        "generic",
        base_url="https://glpi.test",
        webhook_secret="s" * 32,
        credentials={"user_token": "glpi-user-token-for-tests"},
        options={"preset": "glpi", "time_zone": "Europe/Moscow"},
    )
    ticket = json.loads((api / "glpi_ticket_42.json").read_text(encoding="utf-8"))
    ticket.update(status=4, begin_waiting_date="2024-05-14 09:30:00")  # 4: pending, since 09:30 Moscow
    answers = {"ticket": ticket, "actors": [], "requester": None, "technician": None, "fields": []}
    read = TicketReader(mapping.load(settings), answers).ticket("42")
    assert read.status is TicketStatus.PENDING
    assert read.status_since == datetime(2024, 5, 14, 6, 30, tzinfo=UTC)
