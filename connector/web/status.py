"""The admin's status page (`GET /`), replaying failed events (`POST /replay`) and reports
(`GET /reports/<customer>`, `GET /reports`), all behind `connector.web.admin`.

Every number on the page comes from a cheap query: the event queue through the status index
(not the history of done events), the latest rows of the ledger, the audit and the alerts by
their indexes, the registry's row counts, this process's metrics. Values from a platform or the
registry are escaped by the templates; no secret is ever put on the page.
"""

from __future__ import annotations

import re
import time
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

from flask import Blueprint, Response, current_app, flash, g, jsonify, redirect, render_template, request, url_for

from connector import __version__
from connector.composition import Connector
from connector.core.errors import BadInput
from connector.reports.formats import FORMATS, render, to_html
from connector.reports.service import make_report, parse_day
from connector.storage import shown
from connector.storage.kb_audit import AccessAudit
from connector.storage.moments import utcnow
from connector.storage.registry_import import registry_status
from connector.web.admin import admin_only, check_post, csrf_token

bp = Blueprint("status", __name__, template_folder="templates")
FAILED_SHOWN, RECENT_SHOWN, AUDIT_SHOWN, ALERTS_SHOWN = 20, 50, 20, 20
MEDIA = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "html": "text/html; charset=utf-8",
    "pdf": "application/pdf",
}


def _runtime() -> Connector:
    return current_app.extensions["connector"]


def _samples(counter: Any) -> list[tuple[dict[str, str], float]]:
    """A Prometheus counter's totals by label set (this process, since it started)."""
    return [
        (dict(s.labels), s.value) for metric in counter.collect() for s in metric.samples if s.name.endswith("_total")
    ]


def _site(url: str) -> str:
    """A platform's base URL without any user, password, path or query (never a secret on the page)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}{f':{parts.port}' if parts.port else ''}" if parts.scheme else ""


def snapshot(runtime: Connector, now: datetime) -> dict[str, Any]:
    """Everything the page shows, read once per load."""
    started = time.perf_counter()
    store = runtime.store
    queue = store.backlog()  # exact counts, through the unfinished/failed indexes; also proves the database answers
    database_ms = (time.perf_counter() - started) * 1000
    zone = runtime.rules.vendor_calendar.zone
    today = now.astimezone(zone).date()
    this_month = today.replace(day=1)
    last_month = (this_month - timedelta(days=1)).replace(day=1)
    counts, last_import = registry_status(runtime.engine)
    return {
        "version": __version__,
        "now": now,
        "zone": zone,
        "database": shown(runtime.engine.url),
        "database_ms": database_ms,
        "config": runtime.config.source,
        "platforms": [
            {
                "name": name,
                "title": a.title,
                "site": _site(a.settings.base_url),
                "dry_run": a.settings.dry_run,
                "supports": sorted(a.supports),
            }
            for name, a in sorted(runtime.adapters.items())
        ],
        "jobs": runtime.clocks.jobs(),
        "queue": queue,
        "processed": _samples(runtime.metrics.processed),
        "failed_attempts": _samples(runtime.metrics.failed),
        "api_calls": sorted(_samples(runtime.metrics.platform_calls), key=lambda s: (s[0]["platform"], s[0]["status"])),
        "failed": store.list("failed", FAILED_SHOWN),
        "tickets": runtime.ledger.recent(RECENT_SHOWN),
        "audit": list(AccessAudit(runtime.engine).entries(limit=AUDIT_SHOWN))[::-1],
        "alerts": runtime.clocks.recent_alerts(ALERTS_SHOWN),
        "registry": counts,
        "last_import": last_import,
        "customers": runtime.ledger.customers_since(_start_of(last_month, zone)),
        "periods": [("this month", this_month, today), ("last month", last_month, this_month - timedelta(days=1))],
    }


def _start_of(day: date, zone: Any) -> datetime:
    return zone.localize(datetime.combine(day, datetime.min.time()))


@bp.get("/")
@admin_only
def page():
    """The status page."""
    runtime = _runtime()
    now = utcnow()
    data = snapshot(runtime, now)
    zone = data["zone"]

    def local(moment: datetime | None) -> str:
        return "" if moment is None else moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")

    return render_template("status.html", s=data, local=local, csrf=csrf_token(), report_url=report_url)


def report_url(customer: str | None, start: date, end: date, fmt: str = "html") -> str:
    """The URL of a report (every customer's for None)."""
    query = urlencode({"from": start.isoformat(), "to": end.isoformat(), "format": fmt})
    if customer is None:
        return f"{url_for('status.report_all')}?{query}"
    return f"{url_for('status.report', customer_id=customer)}?{query}"


@bp.post("/replay")
@admin_only
def replay():
    """Make failed events pending again: `event` (one or more ids) or `all` (every failed one)."""
    check_post()
    try:
        ids = None if request.form.get("all") else [int(v) for v in request.form.getlist("event")]
    except ValueError:
        raise BadInput("event ids are numbers") from None
    if ids == []:
        raise BadInput("give event=ID (one or more) or all=1")
    count = _runtime().store.replay(ids, utcnow())
    if g.get("bearer"):
        return jsonify(replayed=count)
    flash(f"{count} event(s) queued again" if count else "nothing to replay: the event is no longer failed")
    return redirect(url_for("status.page"), 303)


def _report(customer_id: str | None) -> Response:
    """The report for the query's period (default: this month so far) in its format (default html)."""
    runtime = _runtime()
    zone = runtime.rules.vendor_calendar.zone
    today = utcnow().astimezone(zone).date()
    start = parse_day(request.args.get("from") or today.replace(day=1).isoformat(), "from")
    end = parse_day(request.args.get("to") or today.isoformat(), "to")
    fmt = request.args.get("format", "html")
    if fmt not in FORMATS:
        raise BadInput(f"unknown format {fmt!r} (one of: {', '.join(FORMATS)})")
    built = make_report(runtime.engine, runtime.rules, customer_id, start, end)
    if fmt == "html":
        body = to_html(built, links=lambda other: report_url(customer_id, start, end, other))
    else:
        body = render(built, fmt)
    name = re.sub(r"[^A-Za-z0-9._-]", "_", f"sla-report-{customer_id or 'all'}-{start}-{end}.{fmt}")
    disposition = "inline" if fmt in ("html", "pdf") else "attachment"
    return Response(body, mimetype=MEDIA[fmt], headers={"Content-Disposition": f'{disposition}; filename="{name}"'})


@bp.get("/reports/<customer_id>")
@admin_only
def report(customer_id: str):
    """One customer's report (`from`, `to`: YYYY-MM-DD; `format`: html, pdf, csv, json)."""
    return _report(customer_id)


@bp.get("/reports")
@admin_only
def report_all():
    """Every customer's summary rows."""
    return _report(None)
