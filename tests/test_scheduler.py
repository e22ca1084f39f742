"""The scheduler of `connector serve`: the alert job at its interval, the daily KB sync once per
day (across restarts and across two processes on one database), a failing job recorded without
stopping the thread, and a prompt stop. Time is an injected clock; no long sleeps."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta, timezone

import pytest
import pytz

from connector.composition import ALERTS, KB_SYNC, PRUNE, Connector, SyncStopped
from connector.config.rules import rulebook
from connector.config.settings import ACCESS_DEFAULTS, ALERT_DEFAULTS, Config
from connector.core.errors import BadInput
from connector.jobs.scheduler import Job, Scheduler, daily_slot, next_daily, parse_hhmm
from connector.storage.clocks import ClockStore

MSK = timezone(timedelta(hours=3))
ZONE = pytz.timezone("Europe/Moscow")


def msk(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2025, 5, day, hour, minute, second, tzinfo=MSK)


class Clock:
    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now


class Counter:
    def __init__(self, fail: bool = False):
        self.calls, self.fail = 0, fail

    def __call__(self):
        self.calls += 1
        if self.fail:
            raise RuntimeError("platform down")
        return f"run {self.calls}"


def daily(counter, at="03:00"):
    return Job(KB_SYNC, counter, at=parse_hhmm(at), zone=ZONE)


def test_slots_in_the_vendor_zone():
    three = parse_hhmm("03:00")
    assert daily_slot(msk(12, 2, 59), three, ZONE) == msk(11, 3)
    assert daily_slot(msk(12, 3), three, ZONE) == msk(12, 3)
    assert next_daily(msk(12, 2, 59), three, ZONE) == msk(12, 3)
    assert next_daily(msk(12, 3), three, ZONE) == msk(13, 3)
    with pytest.raises(BadInput):
        parse_hhmm("3 o'clock")


def test_the_daily_sync_runs_once_per_day_across_restarts(engine):
    store, clock, sync = ClockStore(engine), Clock(msk(12, 2, 0)), Counter()
    scheduler = Scheduler(store, [daily(sync)], clock)
    assert scheduler.jobs[0].next_at == msk(12, 3)  # a new database: the first run waits for its time
    assert scheduler.tick() == []
    clock.now = msk(12, 2, 59)
    assert scheduler.tick() == [] and sync.calls == 0
    clock.now = msk(12, 3)
    assert scheduler.tick() == [(KB_SYNC, "run 1")] and scheduler.jobs[0].next_at == msk(13, 3)
    clock.now = msk(12, 3, 1)
    assert scheduler.tick() == [] and sync.calls == 1
    clock.now = msk(12, 9, 30)  # restart later the same day: today's run is done
    restarted = Scheduler(store, [daily(sync)], clock)
    assert restarted.jobs[0].next_at == msk(13, 3)
    assert restarted.tick() == [] and sync.calls == 1
    restarted.jobs[0].next_at = msk(12, 3)  # even if it looks again, the claim says no
    assert restarted.tick() == [(KB_SYNC, "not claimed")] and sync.calls == 1
    assert restarted.jobs[0].next_at == msk(13, 3)
    clock.now = msk(12, 23, 59)
    assert restarted.tick() == []
    clock.now = msk(13, 3, 0, 1)
    assert restarted.tick() == [(KB_SYNC, "run 2")] and sync.calls == 2
    recorded = store.jobs()[KB_SYNC]
    assert recorded["last_started_at"] == msk(13, 3, 0, 1) and recorded["last_result"] == "run 2"


def test_a_day_missed_while_stopped_is_caught_up_at_start(engine):
    store, clock, sync = ClockStore(engine), Clock(msk(12, 2, 0)), Counter()
    first = Scheduler(store, [daily(sync)], clock)
    clock.now = msk(12, 3, 0, 5)
    assert first.tick() == [(KB_SYNC, "run 1")]
    clock.now = msk(14, 11)  # not running on the 13th at 03:00, back on the 14th at 11:00
    assert Scheduler(store, [daily(sync)], clock).tick() == [(KB_SYNC, "run 2")]


def test_two_schedulers_on_one_database_run_the_daily_sync_once(engine):
    store, clock, sync = ClockStore(engine), Clock(msk(12, 2)), Counter()
    first, second = Scheduler(store, [daily(sync)], clock), Scheduler(ClockStore(engine), [daily(sync)], clock)
    clock.now = msk(12, 3, 0, 1)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def tick(scheduler):
        barrier.wait(timeout=10)
        outcomes.extend(outcome for _, outcome in scheduler.tick())

    threads = [threading.Thread(target=tick, args=(s,)) for s in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(outcomes) == ["not claimed", "run 1"] and sync.calls == 1


def test_the_alert_job_runs_at_its_interval_and_is_recorded(engine):
    store, clock, alerts = ClockStore(engine), Clock(msk(12, 10)), Counter()
    scheduler = Scheduler(store, [Job(ALERTS, alerts, every=timedelta(seconds=60))], clock)
    assert scheduler.tick() == [(ALERTS, "run 1")]
    clock.now = msk(12, 10, 0, 59)
    assert scheduler.tick() == [] and scheduler.wait_seconds() == 1
    clock.now = msk(12, 10, 1)
    assert scheduler.tick() == [(ALERTS, "run 2")]
    assert store.jobs()[ALERTS]["last_result"] == "run 2"


def test_a_failing_job_is_logged_and_recorded_and_the_others_go_on(engine, caplog):
    store, clock = ClockStore(engine), Clock(msk(12, 10))
    broken, fine = Counter(fail=True), Counter()
    scheduler = Scheduler(
        store, [Job("broken", broken, every=timedelta(seconds=5)), Job(ALERTS, fine, every=timedelta(seconds=5))], clock
    )
    assert scheduler.tick() == [("broken", "error: RuntimeError: platform down"), (ALERTS, "run 1")]
    assert "job broken failed" in caplog.text
    assert store.jobs()["broken"]["last_result"] == "error: RuntimeError: platform down"
    clock.now += timedelta(seconds=5)
    assert [name for name, _ in scheduler.tick()] == ["broken", ALERTS] and broken.calls == 2


def test_the_thread_runs_jobs_and_stops_promptly(engine):
    ran = threading.Event()
    calls = Counter()

    def job():
        calls()
        if calls.calls >= 3:
            ran.set()

    scheduler = Scheduler(ClockStore(engine), [Job(ALERTS, job, every=timedelta(seconds=0.01))], max_wait=0.05)
    stop = threading.Event()
    thread = scheduler.start(stop)
    try:
        assert ran.wait(timeout=10)
    finally:
        stop.set()
        started = time.monotonic()
        thread.join(timeout=5)
    assert not thread.is_alive() and time.monotonic() - started < 1


def test_a_database_outage_does_not_kill_the_thread(engine, monkeypatch):
    store = ClockStore(engine)
    calls = Counter()
    scheduler = Scheduler(store, [Job(ALERTS, calls, every=timedelta(seconds=0.01))], max_wait=0.02)

    def down(*_):
        raise ConnectionError("database unreachable")

    monkeypatch.setattr(store, "claim_job", down)
    assert scheduler.tick() == [(ALERTS, "error: database")] and calls.calls == 0
    monkeypatch.undo()
    time.sleep(0.02)
    assert scheduler.tick()[0][1] == "run 1"


def test_scheduler_for_a_runtime_names_its_jobs_and_next_runs(engine):
    config = Config(access={**ACCESS_DEFAULTS, "sync_at": "04:30"}, alerts={**ALERT_DEFAULTS, "every_seconds": 30})
    runtime = Connector(config, engine, {}, rulebook())
    sync = Counter()
    scheduler = runtime.scheduler(Clock(msk(12, 10)), alert_job=Counter(), kb_sync=sync, prune=Counter())
    text = scheduler.describe()
    assert "sla_alerts every 30s, next 2025-05-12 10:00:00 MSK" in text
    assert "events_prune every 3600s, next 2025-05-12 10:00:00 MSK" in text
    assert "kb_sync daily at 04:30 Europe/Moscow, next 2025-05-13 04:30:00 MSK" in text  # a new database
    assert [name for name, _ in scheduler.tick()] == [ALERTS, PRUNE] and sync.calls == 0
    off = Config(access={**ACCESS_DEFAULTS, "kb": False}, alerts={**ALERT_DEFAULTS, "enabled": False})
    assert Connector(off, engine, {}, rulebook()).scheduler().describe().startswith("events_prune every 3600s")


def test_the_kb_sync_job_stops_between_batches_when_serve_stops(engine, monkeypatch):
    import connector.composition as composition

    batches = []

    def fake_sync_all(engine, rules, adapters, access, origin, progress):
        for done in range(1, 100):
            batches.append(done)
            progress("memory", done, 99)
        return []

    monkeypatch.setattr(composition, "sync_all", fake_sync_all)
    config = Config(access={**ACCESS_DEFAULTS, "sync_at": "04:30"}, alerts={**ALERT_DEFAULTS, "enabled": False})
    scheduler = Connector(config, engine, {}, rulebook()).scheduler(Clock(msk(12, 4, 30)))
    scheduler.stopping.set()
    (job,) = [job for job in scheduler.jobs if job.name == KB_SYNC]
    with pytest.raises(SyncStopped):
        job.run()
    assert batches == [1]


def test_serve_starts_the_scheduler_and_stops_it_promptly(tmp_path):
    import signal
    import subprocess
    import sys

    from tests.support.net import free_port

    port = free_port()
    path = tmp_path / "connector.toml"
    path.write_text(
        f'database_url = "sqlite:///{tmp_path / "c.db"}"\n[server]\nport = {port}\n'
        '[alerts]\nevery_seconds = 5\n[access]\nsync_at = "02:15"\n'
    )
    server = subprocess.Popen(
        [sys.executable, "-m", "connector", "serve", "--config", str(path), "--workers", "0"],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = server.stderr.readline()
        assert f"listening on http://127.0.0.1:{port}/" in line, line
        assert "scheduler: sla_alerts every 5s, next " in line and "kb_sync daily at 02:15 Europe/Moscow, next " in line
    finally:
        server.send_signal(signal.SIGTERM)
        started = time.monotonic()
        assert server.wait(timeout=30) == 0
        rest = server.stderr.read()
    assert "connector: stopped" in rest and time.monotonic() - started < 10


def test_a_long_job_never_delays_the_alerts_each_runs_on_its_own_thread(engine):
    release, alerts = threading.Event(), Counter()
    ran_alerts = threading.Event()

    def long_sync():
        release.wait(timeout=20)  # a nightly KB sync that takes its time
        return "synced"

    def alert_job():
        alerts()
        if alerts.calls >= 3:
            ran_alerts.set()

    scheduler = Scheduler(
        ClockStore(engine),
        [Job("slow", long_sync, every=timedelta(seconds=30)), Job(ALERTS, alert_job, every=timedelta(seconds=0.05))],
        max_wait=0.05,
    )
    stop = threading.Event()
    running = scheduler.start(stop)
    try:
        assert ran_alerts.wait(timeout=10)  # three alert runs while the long job still runs
        assert not release.is_set() and "slow" in scheduler._running
    finally:
        release.set()
        stop.set()
        running.join(timeout=10)
    assert not running.is_alive()


def test_a_run_whose_heartbeat_stopped_is_taken_over_and_a_live_one_is_not(engine):
    store = ClockStore(engine)
    slot, now = msk(12, 3), msk(12, 3, 1)
    assert store.claim_job(KB_SYNC, slot, now, "host-a:1", stale=timedelta(minutes=2))
    # host-a is running it and beating: host-b may not take it, even for the same slot
    store.job_heartbeat([KB_SYNC], "host-a:1", now=datetime.now(UTC))
    assert not store.claim_job(KB_SYNC, slot, msk(12, 3, 2), "host-b:1", stale=timedelta(minutes=2))
    # host-a died: its heartbeat is older than the stale limit, so host-b resumes the run
    store.job_heartbeat([KB_SYNC], "host-a:1", now=datetime.now(UTC) - timedelta(minutes=5))
    assert store.claim_job(KB_SYNC, slot, msk(12, 3, 10), "host-b:1", stale=timedelta(minutes=2))
    store.job_finished(KB_SYNC, msk(12, 3, 20), "ok")
    assert not store.claim_job(KB_SYNC, slot, msk(12, 4), "host-c:1")  # done for this slot
