"""The event queue for several processes: partial indexes over the unfinished events (the claim
walks them, not the history), the watermark of what a claim's ticket read covers, an index for
retention, and the scheduler's run owner and heartbeat.

Revision ID: 0006_event_queue
Revises: 0005_ticket_ledger
Create Date: 2026-12-01
"""
from alembic import op
import sqlalchemy as sa

revision = "0006_event_queue"
down_revision = "0005_ticket_ledger"
branch_labels = None
depends_on = None

UNFINISHED = "status IN ('pending', 'processing')"
FINISHED = "status IN ('done', 'failed')"
LEASED = "status = 'processing'"


def upgrade() -> None:
    """Add the columns and replace the claim's indexes by partial ones."""
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("covers_through", sa.Integer, nullable=True))
    op.drop_index("ix_events_ticket", table_name="events")
    op.drop_index("ix_events_status", table_name="events")
    where = sa.text(UNFINISHED)
    # the claim walks unfinished events in id order: this index holds only them, however long the history
    op.create_index("ix_events_unfinished", "events", ["id"], postgresql_where=where, sqlite_where=where)
    # the per-ticket order rule and the watermark look at a ticket's unfinished events
    op.create_index("ix_events_ticket_unfinished", "events", ["platform", "ticket_id", "id"],
                    postgresql_where=where, sqlite_where=where)
    # the leased events alone (a handful): their count costs nothing however large the backlog
    leased = sa.text(LEASED)
    op.create_index("ix_events_leased", "events", ["lease_until"], postgresql_where=leased, sqlite_where=leased)
    # retention (done or failed before a moment) and the count of failed events, over finished ones only
    finished = sa.text(FINISHED)
    op.create_index("ix_events_finished", "events", ["status", "finished_at"], postgresql_where=finished,
                    sqlite_where=finished)
    with op.batch_alter_table("scheduler_jobs") as batch:
        batch.add_column(sa.Column("owner", sa.String(100), nullable=True))
        batch.add_column(sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    """Back to 0005's indexes and columns."""
    with op.batch_alter_table("scheduler_jobs") as batch:
        batch.drop_column("heartbeat_at")
        batch.drop_column("owner")
    op.drop_index("ix_events_finished", table_name="events")
    op.drop_index("ix_events_leased", table_name="events")
    op.drop_index("ix_events_ticket_unfinished", table_name="events")
    op.drop_index("ix_events_unfinished", table_name="events")
    op.create_index("ix_events_status", "events", ["status", "next_attempt_at"])
    op.create_index("ix_events_ticket", "events", ["platform", "ticket_id", "status"])
    with op.batch_alter_table("events") as batch:
        batch.drop_column("covers_through")
