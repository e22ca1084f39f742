"""Pre-breach warnings and breach marks: clocks recorded after processing (SQLite and PostgreSQL),
the pure rule of which points are reached, and the alert job acting once per ticket, metric and
point (only in working time, not while paused, the breach marked with its due moment, retried
after a platform failure, never doubled by two racing jobs)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

from connector.composition import Connector
from connector.config.rules import rulebook
from connector.config.settings import ALERT_DEFAULTS, Config, PlatformSettings
from connector.core.alerts import AlertPoint, StoredClock, decide, points_from_config, reached_points
from connector.core.errors import PlatformRejected
from connector.core.sla import ClockState
from connector.core.ticket import StatusAt, Ticket, TicketStatus
from connector.jobs.sla_alerts import AlertJob
from connector.storage.clocks import ClockStore
from connector.storage.registry_import import import_registry
from tests.support.alert_scenario import MON, REGISTRY, at, ticket
from tests.support.fakes import FakePlatform, FakeTickets


class Clock:
    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now


@pytest.fixture
def world(engine, write_json):
    """A runtime on the test database with one fake platform; `process(t, now)` records clocks."""
    import_registry(write_json(REGISTRY), engine)
    platform = FakePlatform()
    config = Config(access={"kb": False, "register_portal_users": False, "sync_at": "03:00"})
    runtime = Connector(config, engine, {"fake": platform}, rulebook())
    clock = Clock(MON)

    def process(t: Ticket, now: datetime, dry_run=None):
        platform.tickets[t.id] = t
        clock.now = now
        return runtime.processor(clock=clock).process_ticket(platform, t.id, dry_run=dry_run)

    def job(points=None):
        settings = {**ALERT_DEFAULTS, **({"points": points} if points else {})}
        return AlertJob(ClockStore(engine), runtime.adapters, runtime.rules, settings, clock)

    class World:
        runtime: Connector
        platform: FakePlatform
        clock: Clock
        process: Callable[..., dict[str, Any]]
        job: Callable[..., AlertJob]
        store: ClockStore

    w = World()
    w.runtime, w.platform, w.clock, w.process, w.job, w.store = (
        runtime,
        platform,
        clock,
        process,
        job,
        ClockStore(engine),
    )
    return w


def run(w, now, job=None):
    w.clock.now = now
    return (job or w.job()).run()


def fired(w):
    return {(a.ticket_id, a.metric, a.point): a.result for a in w.store.alerts()}


# -- recording ---------------------------------------------------------------------------------


def test_processing_records_both_clocks_and_updates_them_in_place(world):
    result = world.process(ticket(), at(12, 10, 5))
    assert result["clocks"] == {"first_response": "running", "resolution": "running"}
    clocks = world.store.clocks("fake", "1")
    fr, res = clocks["first_response"], clocks["resolution"]
    assert (fr.state, fr.target, fr.elapsed, fr.as_of) == (
        ClockState.RUNNING,
        timedelta(hours=8),
        timedelta(minutes=5),
        at(12, 10, 5),
    )
    assert fr.due == at(12, 18) and res.due == at(16, 18) and res.target == timedelta(hours=40)
    assert fr.tier == res.tier == "warranty" and fr.calendar == '"default"' and fr.breached_at is None
    # the first reply stops the first-response clock: the same row, updated (upsert)
    world.process(ticket(reply=at(12, 11)), at(12, 12))
    clocks = world.store.clocks("fake", "1")
    assert clocks["first_response"].state is ClockState.STOPPED
    assert clocks["first_response"].elapsed == timedelta(hours=1)
    assert clocks["resolution"].elapsed == timedelta(hours=2) and clocks["resolution"].as_of == at(12, 12)
    assert world.store.open_tickets() == [("fake", "1")]


def test_dry_run_records_clocks_too(world):
    result = world.process(ticket(), at(12, 10, 5), dry_run=True)
    assert result["dry_run"] is True and world.platform.writes == []
    assert set(world.store.clocks("fake", "1")) == {"first_response", "resolution"}


# -- the pure rule -----------------------------------------------------------------------------

CAL = rulebook().calendar_for("default")
POINTS = points_from_config(ALERT_DEFAULTS["points"])


def clock(state=ClockState.RUNNING, target=8, elapsed=0, as_of=MON, breached_at=None):
    return StoredClock(
        "fake",
        "1",
        "first_response",
        state,
        None if target is None else timedelta(hours=target),
        timedelta(hours=elapsed),
        as_of,
        CAL.add(as_of, timedelta(hours=target - elapsed)) if target and state is ClockState.RUNNING else None,
        breached_at,
    )


def keys(reached):
    return [(r.point.key, r.moment) for r in reached]


def test_points_are_reached_at_their_share_of_the_target_in_working_time():
    c = clock()
    assert keys(reached_points(c, POINTS, at(12, 15, 59), CAL)) == []
    assert keys(reached_points(c, POINTS, at(12, 16), CAL)) == [("75%", at(12, 16))]
    assert keys(reached_points(c, POINTS, at(12, 17, 59), CAL)) == [("75%", at(12, 16))]
    # used up exactly at 18:00 (the closing: not working time, so no warning) and all night is not
    # a breach: a reply at the due moment is met
    assert keys(reached_points(c, POINTS, at(12, 18), CAL)) == []
    assert keys(reached_points(c, POINTS, at(12, 23), CAL)) == []
    assert keys(reached_points(c, POINTS, at(13, 10, 0, 1), CAL)) == [("75%", at(12, 16)), ("breach", at(12, 18))]


def test_no_target_and_stopped_clocks_never_alert_paused_ones_only_mark_a_past_breach():
    assert reached_points(clock(target=None), POINTS, at(19, 12), CAL) == []
    assert reached_points(clock(ClockState.STOPPED, elapsed=9), POINTS, at(19, 12), CAL) == []
    assert reached_points(clock(ClockState.PAUSED, elapsed=7), POINTS, at(19, 12), CAL) == []
    paused_after_breach = clock(ClockState.PAUSED, elapsed=9, breached_at=at(12, 18))
    assert keys(reached_points(paused_after_breach, POINTS, at(19, 12), CAL)) == [("breach", at(12, 18))]


def test_a_point_passed_before_the_record_has_no_known_moment():
    (r,) = reached_points(clock(elapsed=7, as_of=at(13, 10)), POINTS[:1], at(13, 11), CAL)
    assert r.point.key == "75%" and r.moment is None and r.used == timedelta(hours=8)


def test_decide_acts_on_the_furthest_point_once_and_supersedes_the_passed_ones():
    reached = reached_points(clock(), POINTS, at(13, 11), CAL)
    first = decide(reached, set())
    assert first.act.point.key == "breach" and [r.point.key for r in first.supersede] == ["75%"]
    assert decide(reached, {"75%", "breach"}).act is None
    late = decide(reached, {"breach"})  # the breach was marked at night; 75% must not come after it
    assert late.act is None and [r.point.key for r in late.supersede] == ["75%"]


def test_point_keys_and_tags():
    assert AlertPoint(0.75).key == "75%" and AlertPoint(1.0).key == "breach" and AlertPoint(0.875).key == "87.5%"
    assert AlertPoint(0.75).tag_for("resolution", "sla_") == "sla_warn_resolution_75"
    assert AlertPoint(0.875).tag_for("resolution", "x_") == "x_warn_resolution_87_5"
    assert AlertPoint(1.0).tag_for("first_response", "sla_") == "sla_breached_first_response"
    assert AlertPoint(1.0, tag="late").tag_for("first_response", "sla_") == "late"


# -- the alert job -----------------------------------------------------------------------------


def test_warning_at_75_percent_and_the_breach_each_exactly_once(world):
    world.process(ticket(), at(12, 10))
    assert run(world, at(12, 15, 59)) == {"clocks": 2}
    assert run(world, at(12, 16)) == {"clocks": 2, "sent": 1}
    assert run(world, at(12, 16, 1)) == {"clocks": 2}  # the job runs again: nothing new
    (warning,) = world.platform.alerts
    assert warning.ticket_id == "1" and warning.tags == ("sla_warn_first_response_75",) and warning.priority is None
    assert warning.note.startswith("SLA warning: 75% of the first response target (8:00 working hours, warranty tier)")
    assert (
        "6:00 of 8:00 working hours used" in warning.note
        and "Due 2025-05-12T18:00:00+03:00 (Europe/Moscow)" in warning.note
    )
    assert run(world, at(13, 10, 0, 1)) == {"clocks": 2, "sent": 1}
    assert run(world, at(13, 12)) == {"clocks": 2}
    breach = world.platform.alerts[1]
    assert breach.tags == ("sla_breached_first_response",)
    assert "exceeded at 2025-05-12T18:00:00+03:00 (Europe/Moscow), the due moment" in breach.note
    assert len(world.platform.alerts) == 2
    records = {(a.metric, a.point): a for a in world.store.alerts()}
    assert set(records) == {("first_response", "75%"), ("first_response", "breach")}
    assert records["first_response", "breach"].moment == at(12, 18)  # marked with the moment it happened
    assert records["first_response", "75%"].moment == at(12, 16)
    assert all(a.result == "sent" for a in records.values())


def test_no_warning_outside_working_time_it_fires_at_the_next_opening(world):
    world.process(ticket(), at(12, 10))
    assert run(world, at(12, 20)) == {"clocks": 2}  # 75% crossed at 16:00 while the scheduler was down
    assert run(world, at(13, 9, 59)) == {"clocks": 2}
    assert world.platform.alerts == []
    assert run(world, at(13, 10)) == {"clocks": 2, "sent": 1}  # opening: the warning, not yet a breach
    assert world.platform.alerts[0].tags == ("sla_warn_first_response_75",)
    assert run(world, at(13, 10, 0, 1)) == {"clocks": 2, "sent": 1}
    assert world.platform.alerts[1].tags == ("sla_breached_first_response",)


def test_paused_tickets_do_not_warn_and_warn_once_running_again(world):
    reply = at(12, 10, 30)  # first response met: only the resolution clock is left
    pending = ticket(reply=reply, statuses=[StatusAt(at(16, 10), TicketStatus.PENDING)])
    world.process(pending, at(16, 11))  # 32 of 40 hours used (80%), then pending
    assert world.store.clocks("fake", "1")["resolution"].state is ClockState.PAUSED
    assert run(world, at(16, 11)) == {"clocks": 1} and run(world, at(19, 15)) == {"clocks": 1}
    assert world.platform.alerts == []
    reopened = ticket(
        reply=reply, statuses=[StatusAt(at(16, 10), TicketStatus.PENDING), StatusAt(at(19, 12), TicketStatus.OPEN)]
    )
    world.process(reopened, at(19, 12))
    assert run(world, at(19, 12)) == {"clocks": 1, "sent": 1}
    assert world.platform.alerts[0].tags == ("sla_warn_resolution_75",)
    # 75% was passed before the record (while the clock ran on Friday): its exact moment is not known
    assert world.store.alerts()[0].moment is None


def test_solved_tickets_do_not_alert(world):
    solved = ticket(reply=at(12, 10, 30), statuses=[StatusAt(at(12, 11), TicketStatus.SOLVED)])
    world.process(solved, at(12, 11))
    assert run(world, at(19, 12)) == {} and world.platform.alerts == []


def test_points_passed_while_the_scheduler_was_down_give_the_breach_alone(world):
    world.process(ticket(), at(12, 10))
    assert run(world, at(13, 11)) == {"clocks": 2, "superseded": 1, "sent": 1}
    assert [a.tags for a in world.platform.alerts] == [("sla_breached_first_response",)]
    assert run(world, at(13, 12)) == {"clocks": 2}
    assert fired(world) == {("1", "first_response", "75%"): "superseded", ("1", "first_response", "breach"): "sent"}


def test_a_platform_failure_is_retried_on_the_next_run_and_not_doubled(world):
    world.platform.fail = 1
    world.process(ticket(), at(12, 10))
    assert run(world, at(12, 16)) == {"clocks": 2, "failed": 1}
    (record,) = world.store.alerts()
    assert record.result == "failed" and "HTTP 503" in record.detail
    assert run(world, at(12, 16, 1)) == {"clocks": 2, "sent": 1}
    assert run(world, at(12, 16, 2)) == {"clocks": 2}
    assert world.platform.attempts == 2 and len(world.platform.alerts) == 1
    assert fired(world) == {("1", "first_response", "75%"): "sent"}


def test_a_claim_left_by_a_dead_process_is_taken_over_after_the_lease(world):
    world.process(ticket(), at(12, 10))
    (c,) = [c for c in world.store.open_clocks() if c.metric == "first_response"]
    assert world.store.claim_alert(c, "75%", at(12, 16), at(12, 16), timedelta(minutes=10))  # then it died
    assert run(world, at(12, 16, 5)) == {"clocks": 2, "taken": 1}  # within the lease: not doubled
    assert run(world, at(12, 16, 11)) == {"clocks": 2, "sent": 1}
    assert len(world.platform.alerts) == 1


def test_a_job_that_starts_while_another_is_sending_does_not_double_it(world):
    world.process(ticket(), at(12, 10))
    other = {}

    def race():
        world.platform.during_alert = None
        other["counts"] = world.job().run()

    world.platform.during_alert = race
    assert run(world, at(12, 16)) == {"clocks": 2, "sent": 1}
    assert other["counts"] == {"clocks": 2, "taken": 1}
    assert len(world.platform.alerts) == 1


def test_racing_jobs_in_threads_fire_each_alert_once(world):
    for n in range(1, 6):
        world.process(ticket(str(n)), at(12, 10))
    world.clock.now = at(12, 16)
    barrier, results, errors = threading.Barrier(4), [], []

    def one():
        try:
            job = world.job()
            barrier.wait(timeout=10)
            results.append(job.run())
        except Exception as exc:  # noqa: BLE001 # pragma: no cover - any failure of a thread is reported below
            errors.append(exc)

    threads = [threading.Thread(target=one) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    assert sorted(a.ticket_id for a in world.platform.alerts) == ["1", "2", "3", "4", "5"]
    assert sum(r.get("sent", 0) for r in results) == 5


def test_dry_run_platforms_record_and_write_nothing_others_without_alerts_are_skipped(world, engine):
    world.platform.settings = PlatformSettings("fake", dry_run=True)
    plain = FakeTickets(name="plain")
    world.runtime.adapters["plain"] = plain
    world.process(ticket(), at(12, 10))
    plain.tickets["9"] = ticket("9")
    world.runtime.processor(clock=world.clock).process_ticket(plain, "9")
    assert world.platform.writes == [] and len(plain.writes) == 1
    assert run(world, at(12, 16)) == {"clocks": 4, "dry_run": 1, "skipped": 1}
    assert world.platform.attempts == 0 and world.platform.writes == [] and len(plain.writes) == 1
    assert {(a.platform, a.result) for a in world.store.alerts()} == {("fake", "dry_run"), ("plain", "skipped")}
    assert run(world, at(12, 16, 1)) == {"clocks": 4}


def test_a_priority_point_sets_the_priority_with_the_tag_and_note(world):
    world.process(ticket(), at(12, 10))
    points = [{"at": 0.5, "action": "priority", "priority": "high", "tag": "sla_half"}, {"at": 1.0}]
    assert run(world, at(12, 14), world.job(points)) == {"clocks": 2, "sent": 1}
    (alert,) = world.platform.alerts
    assert alert.priority == "high" and alert.tags == ("sla_half",) and alert.note.startswith("SLA warning: 50%")


def test_a_rejected_alert_is_final(world):
    world.process(ticket(), at(12, 10))

    def gone(_alert):
        raise PlatformRejected("PUT /tickets/1: HTTP 404: RecordNotFound", 404)

    world.platform.alert = gone
    assert run(world, at(12, 16)) == {"clocks": 2, "rejected": 1}
    assert run(world, at(12, 17)) == {"clocks": 2}
