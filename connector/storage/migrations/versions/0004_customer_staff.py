"""The customer's staff seen on tickets: requesters identified by an e-mail domain or a platform
organisation (not registry contacts), so that the KB sync keeps what their tickets granted.

Revision ID: 0004_customer_staff
Revises: 0003_access_alerts
Create Date: 2026-12-01
"""
from alembic import op
import sqlalchemy as sa

revision = "0004_customer_staff"
down_revision = "0003_access_alerts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create customer_staff."""
    op.create_table(
        "customer_staff",
        sa.Column("email", sa.String(320), primary_key=True),
        sa.Column("customer_id", sa.String(200), nullable=False, index=True),
        sa.Column("matched_by", sa.String(16), nullable=False),
        sa.Column("platform", sa.String(64), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    """Drop customer_staff."""
    op.drop_table("customer_staff")
