"""The ticket ledger (one row per processed ticket: reports and the status page read it), the
registry's import log, which lever an access-audit entry is of (the KB or the mailing tag), and
an index to read the latest alerts fired.

Revision ID: 0005_ticket_ledger
Revises: 0004_customer_staff
Create Date: 2026-11-25
"""
from alembic import op
import sqlalchemy as sa

revision = "0005_ticket_ledger"
down_revision = "0004_customer_staff"
branch_labels = None
depends_on = None

MOMENT = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create ticket_ledger and registry_imports; add access_audit.lever; index sla_alerts.fired_at."""
    op.create_table(
        "ticket_ledger",
        sa.Column("platform", sa.String(64), primary_key=True),
        sa.Column("ticket_id", sa.String(200), primary_key=True),
        sa.Column("created_at", MOMENT, nullable=False),
        sa.Column("requester_email", sa.String(320), nullable=True),
        sa.Column("requester_name", sa.Text, nullable=True),
        sa.Column("subject", sa.Text, nullable=True),
        sa.Column("customer_id", sa.String(200), nullable=True),
        sa.Column("customer_name", sa.Text, nullable=True),
        sa.Column("product", sa.String(200), nullable=True),
        sa.Column("request_type", sa.String(32), nullable=False),
        sa.Column("topic", sa.String(32), nullable=True),
        sa.Column("channel", sa.String(32), nullable=True),
        sa.Column("tier", sa.String(32), nullable=False),
        sa.Column("contract", sa.String(200), nullable=True),
        sa.Column("flags", sa.Text, nullable=False, server_default=""),
        sa.Column("first_response_target_seconds", sa.Float, nullable=True),
        sa.Column("first_response_due", MOMENT, nullable=True),
        sa.Column("first_response_at", MOMENT, nullable=True),
        sa.Column("first_response_elapsed_seconds", sa.Float, nullable=False),
        sa.Column("first_response_state", sa.String(16), nullable=False),
        sa.Column("first_response_breached_at", MOMENT, nullable=True),
        sa.Column("resolution_target_seconds", sa.Float, nullable=True),
        sa.Column("resolution_due", MOMENT, nullable=True),
        sa.Column("resolved_at", MOMENT, nullable=True),
        sa.Column("resolution_paused_seconds", sa.Float, nullable=False),
        sa.Column("resolution_state", sa.String(16), nullable=False),
        sa.Column("resolution_breached_at", MOMENT, nullable=True),
        sa.Column("processed_at", MOMENT, nullable=False),
    )
    op.create_index("ix_ticket_ledger_customer_created", "ticket_ledger", ["customer_id", "created_at"])
    op.create_index("ix_ticket_ledger_created", "ticket_ledger", ["created_at"])
    op.create_index("ix_ticket_ledger_processed", "ticket_ledger", ["processed_at"])
    op.create_table(
        "registry_imports",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", MOMENT, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
    )
    op.add_column("access_audit", sa.Column("lever", sa.String(16), nullable=False, server_default="kb"))
    op.create_index("ix_sla_alerts_fired_at", "sla_alerts", ["fired_at"])


def downgrade() -> None:
    """Drop what upgrade added."""
    op.drop_index("ix_sla_alerts_fired_at", "sla_alerts")
    with op.batch_alter_table("access_audit") as batch:
        batch.drop_column("lever")
    op.drop_table("registry_imports")
    op.drop_table("ticket_ledger")
