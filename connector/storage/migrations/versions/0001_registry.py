"""The customer registry: products, customers (domains, platform ids), contacts, licenses,
purchases and contracts.

Revision ID: 0001_registry
Revises:
Create Date: 2025-01-01
"""
from alembic import op
import sqlalchemy as sa

revision = "0001_registry"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the registry tables and the indexes resolution looks up by."""
    op.create_table(
        "products",
        sa.Column("code", sa.String(200), primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("withdrawn_on", sa.Date, nullable=True),
    )
    op.create_table(
        "customers",
        sa.Column("id", sa.String(200), primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
    )
    op.create_table(
        "customer_domains",
        sa.Column("domain", sa.String(255), primary_key=True),
        sa.Column("customer_id", sa.String(200), sa.ForeignKey("customers.id"), primary_key=True),
    )
    op.create_index("ix_customer_domains_customer_id", "customer_domains", ["customer_id"])
    op.create_table(
        "customer_platform_ids",
        sa.Column("platform", sa.String(100), primary_key=True),
        sa.Column("org_id", sa.String(200), primary_key=True),
        sa.Column("customer_id", sa.String(200), sa.ForeignKey("customers.id"), nullable=False),
    )
    op.create_index("ix_customer_platform_ids_org_id", "customer_platform_ids", ["org_id"])
    op.create_index("ix_customer_platform_ids_customer_id", "customer_platform_ids", ["customer_id"])
    op.create_table(
        "contacts",
        sa.Column("email", sa.String(320), primary_key=True),
        sa.Column("customer_id", sa.String(200), sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("name", sa.Text, nullable=True),
    )
    op.create_index("ix_contacts_customer_id", "contacts", ["customer_id"])
    op.create_table(
        "licenses",
        sa.Column("customer_id", sa.String(200), sa.ForeignKey("customers.id"), primary_key=True),
        sa.Column("product_code", sa.String(200), sa.ForeignKey("products.code"), primary_key=True),
        sa.Column("since", sa.Date, nullable=False),
    )
    op.create_table(
        "purchases",
        sa.Column("customer_id", sa.String(200), sa.ForeignKey("customers.id"), primary_key=True),
        sa.Column("product_code", sa.String(200), sa.ForeignKey("products.code"), primary_key=True),
        sa.Column("kind", sa.String(20), primary_key=True),
        sa.Column("date", sa.Date, primary_key=True),
    )
    op.create_table(
        "contracts",
        sa.Column("number", sa.String(200), primary_key=True),
        sa.Column("customer_id", sa.String(200), sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("counterparty", sa.String(20), nullable=False),
        sa.Column("starts", sa.Date, nullable=False),
        sa.Column("ends", sa.Date, nullable=False),
        sa.Column("products", sa.JSON, nullable=False),
        sa.Column("sla", sa.JSON, nullable=False),
    )
    op.create_index("ix_contracts_customer_id", "contracts", ["customer_id"])


def downgrade() -> None:
    """Drop the registry, children first."""
    for table in ("contracts", "purchases", "licenses", "contacts", "customer_platform_ids",
                  "customer_domains", "customers", "products"):
        op.drop_table(table)
