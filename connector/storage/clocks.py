"""The tickets' SLA clocks as last computed, the alerts fired (once per ticket, metric and
point), and the scheduler's job runs. Tables as migration 0003 creates them."""
from __future__ import annotations

import sqlalchemy as sa

from connector.storage.tables import metadata

ticket_clocks = sa.Table(
    "ticket_clocks", metadata,
    sa.Column("platform", sa.String(64), primary_key=True),
    sa.Column("ticket_id", sa.String(200), primary_key=True),
    sa.Column("metric", sa.String(32), primary_key=True),  # first_response or resolution
    sa.Column("state", sa.String(16), nullable=False),  # running, paused, stopped
    sa.Column("target_seconds", sa.Float),  # working seconds; None = not regulated
    sa.Column("elapsed_seconds", sa.Float, nullable=False),  # working seconds used at as_of
    sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
    sa.Column("due", sa.DateTime(timezone=True)),
    sa.Column("breached_at", sa.DateTime(timezone=True)),
    sa.Column("calendar", sa.Text, nullable=False),  # the calendar document, as JSON
    sa.Column("tier", sa.String(32)),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

sla_alerts = sa.Table(
    "sla_alerts", metadata,
    sa.Column("platform", sa.String(64), primary_key=True),
    sa.Column("ticket_id", sa.String(200), primary_key=True),
    sa.Column("metric", sa.String(32), primary_key=True),
    sa.Column("point", sa.String(16), primary_key=True),  # e.g. "75%" or "breach"
    sa.Column("fired_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("moment", sa.DateTime(timezone=True)),  # when the point was reached (breach: the due moment)
    sa.Column("result", sa.String(16), nullable=False),
    sa.Column("detail", sa.Text),
)

scheduler_jobs = sa.Table(
    "scheduler_jobs", metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("last_started_at", sa.DateTime(timezone=True)),
    sa.Column("last_finished_at", sa.DateTime(timezone=True)),
    sa.Column("last_result", sa.Text),
)
