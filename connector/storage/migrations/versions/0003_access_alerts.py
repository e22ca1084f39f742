"""KB access audit, the tickets' SLA clocks, alerts fired once, and the scheduler's job runs.

Revision ID: 0003_access_alerts
Revises: 0002_events
Create Date: 2026-11-24
"""
from alembic import op
import sqlalchemy as sa

revision = "0003_access_alerts"
down_revision = "0002_events"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create access_audit, ticket_clocks, sla_alerts and scheduler_jobs."""
    op.create_table(
        "access_audit",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("platform", sa.String(64), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("customer_id", sa.String(200), nullable=True),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("since", sa.Date, nullable=True),
        sa.Column("until", sa.Date, nullable=True),
        sa.Column("result", sa.String(16), nullable=False),
        sa.Column("detail", sa.Text, nullable=True),
        sa.Column("origin", sa.String(32), nullable=False),
        sa.Column("run_id", sa.String(64), nullable=True),
    )
    op.create_index("ix_access_audit_at", "access_audit", ["at"])
    op.create_index("ix_access_audit_customer", "access_audit", ["customer_id", "at"])
    op.create_index("ix_access_audit_email", "access_audit", ["email", "at"])
    op.create_table(
        "ticket_clocks",
        sa.Column("platform", sa.String(64), primary_key=True),
        sa.Column("ticket_id", sa.String(200), primary_key=True),
        sa.Column("metric", sa.String(32), primary_key=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("target_seconds", sa.Float, nullable=True),
        sa.Column("elapsed_seconds", sa.Float, nullable=False),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due", sa.DateTime(timezone=True), nullable=True),
        sa.Column("breached_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("calendar", sa.Text, nullable=False),
        sa.Column("tier", sa.String(32), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_ticket_clocks_state", "ticket_clocks", ["state"])
    op.create_table(
        "sla_alerts",
        sa.Column("platform", sa.String(64), primary_key=True),
        sa.Column("ticket_id", sa.String(200), primary_key=True),
        sa.Column("metric", sa.String(32), primary_key=True),
        sa.Column("point", sa.String(16), primary_key=True),
        sa.Column("fired_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("moment", sa.DateTime(timezone=True), nullable=True),
        sa.Column("result", sa.String(16), nullable=False),
        sa.Column("detail", sa.Text, nullable=True),
    )
    op.create_table(
        "scheduler_jobs",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("last_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_result", sa.Text, nullable=True),
    )


def downgrade() -> None:
    """Drop the four tables."""
    for name in ("scheduler_jobs", "sla_alerts", "ticket_clocks", "access_audit"):
        op.drop_table(name)
