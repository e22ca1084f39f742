"""`connector serve`, `connector worker`, `connector events` (and `events prune`), `connector replay`."""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
from datetime import timedelta

import click

from connector.cli import short_help
from connector.composition import Connector, compose, configuration
from connector.config.settings import database_url_only
from connector.core.errors import BadInput
from connector.storage import open_database, shown
from connector.storage.events import EventStore
from connector.storage.registry_import import registry_status
from connector.web import create_app
from connector.web.server import create_server

log = logging.getLogger(__name__)
CONFIG_HELP = "TOML config file (default: $CONNECTOR_CONFIG; without one, no platform is enabled)."


def announce_database(runtime: Connector) -> None:
    """Say which database this process uses, and warn once when its registry is empty."""
    click.echo(f"connector: database {shown(runtime.engine.url)}", err=True)
    counts, _last = registry_status(runtime.engine)
    if not counts.get("customers"):
        click.echo(
            "connector: warning: the customer registry is empty: every requester will be tier none until "
            "`connector import` loads it",
            err=True,
        )


def _stop_on_signals(stop: threading.Event) -> None:
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())


def _exit_on_sigterm(*_: object) -> None:
    """SIGTERM as Ctrl-C: waitress shuts down on SystemExit, then workers finish their event."""
    raise SystemExit(0)


@click.command("serve", short_help=short_help("serve"))
@click.option("--config", "config_path", metavar="FILE", envvar="CONNECTOR_CONFIG", help=CONFIG_HELP)
@click.option("--host", help="Address to listen on (default: the config's server.host, 127.0.0.1).")
@click.option("--port", type=int, help="Port to listen on (default: the config's server.port, 8080).")
@click.option("--workers", type=int, help="Worker threads in this process (default: worker.threads, 2).")
def serve(config_path: str | None, host: str | None, port: int | None, workers: int | None) -> None:
    """Run webhooks, workers and the scheduler in one process, on the waitress WSGI server.

    The scheduler runs the SLA alert job every alerts.every_seconds, event retention every
    events.prune_every_seconds and the daily KB sync at access.sync_at (vendor time), each on its
    own thread, each run claimed in the database (one instance across every serve process on one
    database). The database is the config's database_url (or
    $CONNECTOR_DATABASE_URL, else SQLite connector.db here). Stop with Ctrl-C or SIGTERM: workers
    finish their event first.
    """
    config = configuration(config_path)
    runtime = compose(config)
    app = create_app(runtime=runtime)
    stop = threading.Event()
    count = config.worker["threads"] if workers is None else workers
    # workers and webhooks share one interpreter: hand the GIL over every 1 ms, not 5, so that a
    # webhook thread waits for a busy worker thread for less (answers are what platforms time)
    sys.setswitchinterval(0.001)
    threads = runtime.start_workers(count, stop)
    scheduler, scheduling = runtime.scheduler(), None
    host, port = host or config.server["host"], port or config.server["port"]
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        server = create_server(app, host, port, config.server["threads"], config.server["max_body_bytes"])
        scheduling = scheduler.start(stop)  # once listening: a failed start runs no job
        click.echo(
            f"connector: listening on http://{host}:{port}/ (platforms: "
            f"{', '.join(sorted(runtime.adapters)) or 'none'}; {count} worker thread(s); "
            f"scheduler: {scheduler.describe()})",
            err=True,
        )
        announce_database(runtime)
        server.run()  # until SIGTERM or Ctrl-C (SystemExit/KeyboardInterrupt end the loop)
    except OSError as exc:
        raise BadInput(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
        if scheduling is not None:  # a KB sync ends after its batch; an alert job after its ticket
            scheduling.join(timeout=10)
        runtime.close()
        click.echo("connector: stopped", err=True)


@click.command("worker", short_help=short_help("worker"))
@click.option("--config", "config_path", metavar="FILE", envvar="CONNECTOR_CONFIG", help=CONFIG_HELP)
@click.option("--threads", type=int, help="Worker threads (default: the config's worker.threads, 2).")
def worker(config_path: str | None, threads: int | None) -> None:
    """Run workers only, for scale-out: several processes against one PostgreSQL database.
    Each event is leased to one worker; a killed worker's event is picked up again."""
    config = configuration(config_path)
    runtime = compose(config)
    stop = threading.Event()
    _stop_on_signals(stop)
    started = runtime.start_workers(threads or config.worker["threads"] or 1, stop)
    click.echo(f"connector worker: {len(started)} thread(s); Ctrl-C to stop", err=True)
    announce_database(runtime)
    while not stop.wait(0.5):
        pass
    for thread in started:
        thread.join(timeout=30)
    runtime.close()


@click.group("events", invoke_without_command=True, short_help=short_help("events"))
@click.option("--config", "config_path", metavar="FILE", envvar="CONNECTOR_CONFIG", help=CONFIG_HELP)
@click.option("--failed", is_flag=True, help="Only dead-lettered events (same as --status failed).")
@click.option("--status", type=click.Choice(["pending", "processing", "done", "failed"]), help="Only this status.")
@click.option("--limit", type=click.IntRange(1, 100000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.pass_context
def events(
    ctx: click.Context, config_path: str | None, failed: bool, status: str | None, limit: int, as_json: bool
) -> None:
    """List stored webhook events, newest first: status (pending, processing, retrying with the
    time of the next attempt, done, failed), attempts and the last error. Reads only the database:
    it works without the platforms' secrets. `connector events prune` removes old ones."""
    if ctx.invoked_subcommand is not None:
        ctx.obj = config_path
        return
    engine = open_database(database_url_only(config_path))
    try:
        rows = EventStore(engine).list("failed" if failed else status, limit)
    finally:
        engine.dispose()
    if rows and not as_json:
        click.echo(
            f"{'id':>8}  {'received (UTC)':<19}  {'platform':<16} {'ticket':<17} {'kind':<28} "
            f"{'status':<30} tries  last error"
        )
    for e in rows:
        retrying = e.status == "pending" and e.attempts > 0
        if as_json:
            click.echo(
                json.dumps(
                    {
                        "id": e.id,
                        "platform": e.platform,
                        "ticket": e.ticket_id,
                        "kind": e.kind,
                        "status": "retrying" if retrying else e.status,
                        "attempts": e.attempts,
                        "received_at": e.received_at.isoformat(),
                        "next_attempt_at": e.next_attempt_at.isoformat() if retrying and e.next_attempt_at else None,
                        "last_error": e.last_error,
                        "result": e.result,
                    },
                    default=str,
                )
            )
        else:
            status = f"retrying, next {e.next_attempt_at:%H:%M:%S}" if retrying and e.next_attempt_at else e.status
            error = f"  {e.last_error}" if e.last_error else ""
            click.echo(
                f"{e.id:>8}  {e.received_at:%Y-%m-%d %H:%M:%S}  {e.platform:<16} {e.ticket_id:<17} "
                f"{e.kind:<28} {status:<30} {e.attempts:>5}{error}"
            )
    if not rows and not as_json:
        click.echo("no events", err=True)


@events.command("prune")
@click.option("--config", "config_path", metavar="FILE", envvar="CONNECTOR_CONFIG", help=CONFIG_HELP)
@click.option("--failed", is_flag=True, help="Also remove dead-lettered events (kept until replayed otherwise).")
@click.option(
    "--older-than",
    "days",
    type=click.FloatRange(min=0),
    metavar="DAYS",
    help="Remove events that finished more than DAYS ago (default: the config's events.keep_days, 30).",
)
@click.pass_context
def prune(ctx: click.Context, config_path: str | None, failed: bool, days: float | None) -> None:
    """Remove done events that finished more than events.keep_days ago, as the scheduler does
    every events.prune_every_seconds, in batches; with --failed, dead-lettered ones too."""
    config = configuration(config_path or ctx.obj)
    days = float(config.events["keep_days"]) if days is None else days
    engine = open_database(config.database_url)
    try:
        store, batch = EventStore(engine), int(config.events["prune_batch"])
        done = store.prune(timedelta(days=days), ("done",), batch)
        dead = store.prune(timedelta(days=days), ("failed",), batch) if failed else 0
    finally:
        engine.dispose()
    click.echo(
        f"pruned {done} done"
        + (f" and {dead} failed" if failed else "")
        + f" event(s) that finished more than {days:g} day(s) ago"
    )


@click.command("replay", short_help=short_help("replay"))
@click.argument("event_ids", nargs=-1, type=int)
@click.option("--all-failed", is_flag=True, help="Replay every dead-lettered event.")
@click.option("--config", "config_path", metavar="FILE", envvar="CONNECTOR_CONFIG", help=CONFIG_HELP)
def replay(event_ids: tuple[int, ...], all_failed: bool, config_path: str | None) -> None:
    """Run dead-lettered events again (by ID, or --all-failed); a running worker picks them up."""
    if event_ids and all_failed:
        raise click.UsageError("give event IDs or --all-failed, not both")
    if not event_ids and not all_failed:
        raise click.UsageError(
            "give the IDs of the events to replay (see `connector events --failed`), or --all-failed"
        )
    engine = open_database(database_url_only(config_path))
    try:
        store = EventStore(engine)
        missing = [i for i in event_ids if (e := store.get(i)) is None or e.status != "failed"]
        if missing:
            raise BadInput(f"not failed events (or unknown): {', '.join(map(str, missing))}")
        count = store.replay(None if all_failed else event_ids)
    finally:
        engine.dispose()
    click.echo(f"{count} event(s) queued again")


COMMANDS = {"serve": serve, "worker": worker, "events": events, "replay": replay}
