"""Cross-check against an independent engine: businesstimedelta configured for the RU calendar."""

from datetime import timedelta

import pytest

from tests.support.peer_calendar import MOSCOW, peer_rules, starts


@pytest.mark.parametrize("shortened", [True, False])
@pytest.mark.parametrize("hours", [1, 16, 40])
def test_same_answers_as_businesstimedelta(shortened, hours):
    import businesstimedelta as btd

    from connector.config.calendars import build_calendar

    calendar = build_calendar("default", shortened=shortened)
    delta = btd.BusinessTimeDelta(peer_rules(range(2025, 2028), shortened), timedelta=timedelta(hours=hours))
    for start in starts(150):
        assert calendar.add(start, timedelta(hours=hours)) == (start + delta).astimezone(MOSCOW), start
