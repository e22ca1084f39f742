"""The webhook event store: every delivery, stored before it is answered, with its lease,
retries and outcome.

Revision ID: 0002_events
Revises: 0001_registry
Create Date: 2026-11-24
"""
from alembic import op
import sqlalchemy as sa

revision = "0002_events"
down_revision = "0001_registry"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the events table and the indexes the worker claims by."""
    op.create_table(
        "events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("platform", sa.String(64), nullable=False),
        sa.Column("delivery_id", sa.String(200), nullable=False),
        sa.Column("ticket_id", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(200), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("body", sa.LargeBinary, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_failed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_owner", sa.String(100), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("result", sa.Text, nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("platform", "delivery_id", name="uq_events_delivery"),
    )
    op.create_index("ix_events_ticket", "events", ["platform", "ticket_id", "status"])
    op.create_index("ix_events_status", "events", ["status", "next_attempt_at"])


def downgrade() -> None:
    """Drop the event store."""
    op.drop_table("events")
