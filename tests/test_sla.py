"""The SLA clock on the default calendar: pause/resume, met/breached, reopen, target change."""

from datetime import datetime, timedelta

import pytest
import pytz

from connector.config.calendars import build_calendar
from connector.core.errors import BadInput
from connector.core.sla import ClockState, SlaClock, StatusChange

MSK = pytz.timezone("Europe/Moscow")
RUN, PAUSE, STOP = ClockState.RUNNING, ClockState.PAUSED, ClockState.STOPPED
H = timedelta(hours=1)


def msk(*args) -> datetime:
    return MSK.localize(datetime(*args))


def clock(target_hours, *changes) -> SlaClock:
    target = None if target_hours is None else target_hours * H
    return SlaClock(build_calendar("default"), target, tuple(StatusChange(at, s) for at, s in changes))


def test_running_clock_tells_due_elapsed_remaining():
    r = clock(8, (msk(2026, 11, 24, 14), RUN)).reading(msk(2026, 11, 25, 11))
    assert (r.state, r.elapsed, r.remaining, r.due) == (RUN, 5 * H, 3 * H, msk(2026, 11, 25, 14))
    assert r.met is None and r.breached_at is None


def test_pause_while_waiting_on_customer_moves_the_due_moment():
    c = clock(8, (msk(2026, 11, 24, 14), RUN), (msk(2026, 11, 24, 16), PAUSE), (msk(2026, 11, 25, 12), RUN))
    paused = c.reading(msk(2026, 11, 25, 11))
    assert (paused.state, paused.elapsed, paused.paused, paused.due) == (PAUSE, 2 * H, 3 * H, None)
    running = c.reading(msk(2026, 11, 25, 13))
    assert (running.elapsed, running.paused, running.due) == (3 * H, 4 * H, msk(2026, 11, 25, 18))


def test_met_when_stopped_at_or_before_due():
    exactly = clock(8, (msk(2026, 11, 24, 10), RUN), (msk(2026, 11, 24, 18), STOP)).reading(msk(2026, 11, 30, 10))
    assert exactly.met is True and exactly.stopped_at == msk(2026, 11, 24, 18) and exactly.remaining == timedelta(0)


def test_breach_is_marked_with_its_moment():
    c = clock(8, (msk(2026, 11, 27, 14), RUN))
    assert c.reading(msk(2026, 11, 30, 14)).met is None  # due exactly now: not yet breached
    r = c.reading(msk(2026, 11, 30, 15))
    assert r.met is False and r.breached_at == msk(2026, 11, 30, 14) and r.remaining == -H
    solved_late = c.with_change(StatusChange(msk(2026, 12, 1, 10), STOP)).reading(msk(2026, 12, 2, 10))
    assert solved_late.met is False and solved_late.breached_at == msk(2026, 11, 30, 14)


def test_reopen_runs_again_from_the_elapsed_time():
    c = clock(40, (msk(2026, 11, 23, 10), RUN), (msk(2026, 11, 24, 18), STOP), (msk(2026, 11, 30, 10), RUN))
    solved = c.reading(msk(2026, 11, 27, 10))
    assert solved.met is True and solved.elapsed == 16 * H and solved.due == msk(2026, 11, 27, 18)
    reopened = c.reading(msk(2026, 11, 30, 12))
    assert reopened.met is None and reopened.elapsed == 18 * H and reopened.due == msk(2026, 12, 2, 18)


def test_target_change_keeps_the_elapsed_working_time():
    basic = clock(16, (msk(2026, 11, 24, 10), RUN))
    warranty = basic.with_target(8 * H)
    now = msk(2026, 11, 24, 15)
    assert basic.reading(now).elapsed == warranty.reading(now).elapsed == 5 * H
    assert (basic.reading(now).due, warranty.reading(now).due) == (msk(2026, 11, 25, 18), msk(2026, 11, 24, 18))
    stricter = basic.with_target(4 * H).reading(now)
    assert stricter.met is False and stricter.breached_at == msk(2026, 11, 24, 14)


def test_no_target_counts_but_never_breaches():
    r = clock(None, (msk(2026, 11, 2, 10), RUN)).reading(msk(2026, 12, 2, 10))
    assert r.due is None and r.remaining is None and r.met is None and r.elapsed > 100 * H


def test_history_out_of_order_is_rejected():
    with pytest.raises(BadInput, match="time order"):
        clock(8, (msk(2026, 11, 25, 10), RUN), (msk(2026, 11, 24, 10), STOP))
