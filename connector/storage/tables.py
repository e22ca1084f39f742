"""The registry's tables (SQLAlchemy Core), the same on SQLite and PostgreSQL.

Migrations (`migrations/versions/`) create them; this module is what the code queries. Keys are
the registry's own: product code, customer id, lower-case contact e-mail, contract number.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

products = sa.Table(
    "products",
    metadata,
    sa.Column("code", sa.String(200), primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("withdrawn_on", sa.Date, nullable=True),
)

customers = sa.Table(
    "customers",
    metadata,
    sa.Column("id", sa.String(200), primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
)

# A domain may belong to several customers: resolution then flags ambiguous_customer.
customer_domains = sa.Table(
    "customer_domains",
    metadata,
    sa.Column("domain", sa.String(255), primary_key=True),
    sa.Column("customer_id", sa.String(200), sa.ForeignKey("customers.id"), primary_key=True, index=True),
)

customer_platform_ids = sa.Table(
    "customer_platform_ids",
    metadata,
    sa.Column("platform", sa.String(100), primary_key=True),
    sa.Column("org_id", sa.String(200), primary_key=True, index=True),
    sa.Column("customer_id", sa.String(200), sa.ForeignKey("customers.id"), nullable=False, index=True),
)

contacts = sa.Table(
    "contacts",
    metadata,
    sa.Column("email", sa.String(320), primary_key=True),  # lower-case: look-ups ignore case
    sa.Column("customer_id", sa.String(200), sa.ForeignKey("customers.id"), nullable=False, index=True),
    sa.Column("name", sa.Text, nullable=True),
)

licenses = sa.Table(
    "licenses",
    metadata,
    sa.Column("customer_id", sa.String(200), sa.ForeignKey("customers.id"), primary_key=True),
    sa.Column("product_code", sa.String(200), sa.ForeignKey("products.code"), primary_key=True),
    sa.Column("since", sa.Date, nullable=False),
)

purchases = sa.Table(
    "purchases",
    metadata,
    sa.Column("customer_id", sa.String(200), sa.ForeignKey("customers.id"), primary_key=True),
    sa.Column("product_code", sa.String(200), sa.ForeignKey("products.code"), primary_key=True),
    sa.Column("kind", sa.String(20), primary_key=True),
    sa.Column("date", sa.Date, primary_key=True),
)

contracts = sa.Table(
    "contracts",
    metadata,
    sa.Column("number", sa.String(200), primary_key=True),
    sa.Column("customer_id", sa.String(200), sa.ForeignKey("customers.id"), nullable=False, index=True),
    sa.Column("counterparty", sa.String(20), nullable=False),
    sa.Column("starts", sa.Date, nullable=False),
    sa.Column("ends", sa.Date, nullable=False),
    sa.Column("products", sa.JSON, nullable=False),  # "*" or a list of product codes
    sa.Column("sla", sa.JSON, nullable=False),  # the contract's `sla` object as imported
)

# Requesters identified as a customer's staff by an e-mail domain or a platform organisation (not
# registry contacts): the KB sync's desired set holds them beside the contacts, so what their
# tickets granted survives the nightly sync. Not part of the registry import: --replace keeps them.
customer_staff = sa.Table(
    "customer_staff",
    metadata,
    sa.Column("email", sa.String(320), primary_key=True),  # lower-case
    sa.Column("customer_id", sa.String(200), nullable=False, index=True),
    sa.Column("matched_by", sa.String(16), nullable=False),  # domain or platform
    sa.Column("platform", sa.String(64), nullable=False),
    sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
)
