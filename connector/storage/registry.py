"""The registry in the database: reads for resolution (`SqlRegistry`), whole-list reads and
change sets for the import. SQLAlchemy Core only, so one code path serves SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Engine, RowMapping

from connector.core.entitlement import Entitlement, EntitlementRequest, Rulebook, resolve
from connector.core.registry import ALL_PRODUCTS, CustomerFacts
from connector.registry.records import Key, Record, facts_of, key_of
from connector.storage import tables as t

T = TypeVar("T")
CHUNK = 5000  # rows per executemany: bounds memory and gives progress a beat
# record field -> column, per list (the rest have the same name)
COLUMNS: dict[str, dict[str, str]] = {
    "contacts": {"customer": "customer_id"},
    "licenses": {"customer": "customer_id", "product": "product_code"},
    "purchases": {"customer": "customer_id", "product": "product_code"},
    "contracts": {"customer": "customer_id"},
}
TABLES: dict[str, sa.Table] = {
    "products": t.products,
    "customers": t.customers,
    "contacts": t.contacts,
    "licenses": t.licenses,
    "purchases": t.purchases,
    "contracts": t.contracts,
}
PRIMARY: dict[str, tuple[str, ...]] = {
    name: tuple(c.name for c in table.primary_key.columns) for name, table in TABLES.items()
}

_by_email = sa.select(t.contacts.c.customer_id).where(t.contacts.c.email == sa.bindparam("e"))
_by_domain = sa.select(t.customer_domains.c.customer_id).where(t.customer_domains.c.domain == sa.bindparam("d"))


def _text(column: sa.ColumnElement[Any]) -> sa.ColumnElement[str]:
    """A column as text, the same way on both dialects."""
    return sa.cast(column, sa.String)


def _facts_query() -> sa.CompoundSelect[Any]:
    """Everything about one customer in one round trip: a UNION ALL of uniform text columns
    (kind, a..f), dates as ISO text and JSON as text, which both dialects cast the same way."""
    c: sa.BindParameter[str] = sa.bindparam("c")
    p: sa.BindParameter[str | None] = sa.bindparam("p")
    none = sa.null()

    def row(kind: str, *columns: sa.ColumnElement[Any]) -> list[sa.Label[str]]:
        return [
            sa.literal(kind, sa.String).label("kind"),
            *(_text(col).label(name) for col, name in zip(columns, "abcdef", strict=False)),
            *(_text(none).label(name) for name in "abcdef"[len(columns) :]),
        ]

    held = sa.union(
        sa.select(t.licenses.c.product_code).where(t.licenses.c.customer_id == c),
        sa.select(t.purchases.c.product_code).where(t.purchases.c.customer_id == c),
    )
    return sa.union_all(
        sa.select(*row("customer", t.customers.c.id, t.customers.c.name)).where(t.customers.c.id == c),
        sa.select(*row("license", t.licenses.c.product_code, t.licenses.c.since)).where(t.licenses.c.customer_id == c),
        sa.select(*row("purchase", t.purchases.c.product_code, t.purchases.c.date, t.purchases.c.kind)).where(
            t.purchases.c.customer_id == c
        ),
        sa.select(
            *row(
                "contract",
                t.contracts.c.number,
                t.contracts.c.starts,
                t.contracts.c.ends,
                t.contracts.c.counterparty,
                t.contracts.c.products,
                t.contracts.c.sla,
            )
        ).where(t.contracts.c.customer_id == c),
        sa.select(*row("product", t.products.c.code, t.products.c.name, t.products.c.withdrawn_on)).where(
            sa.or_(t.products.c.code == p, t.products.c.code.in_(held))
        ),
    )


_facts = _facts_query()


class SqlRegistry:
    """`RegistryView` over one open connection (indexed look-ups, a handful of queries each)."""

    def __init__(self, connection: sa.Connection) -> None:
        """Read through `connection` (the caller opens and closes it)."""
        self.connection = connection

    def customers_by_email(self, email: str) -> Sequence[str]:
        """The customer of the contact with this lower-case e-mail."""
        return self.connection.execute(_by_email, {"e": email}).scalars().all()

    def customers_by_domain(self, domain: str) -> Sequence[str]:
        """Customers listing this lower-case domain."""
        return self.connection.execute(_by_domain, {"d": domain}).scalars().all()

    def customers_by_platform(self, platform: str | None, org_id: str) -> Sequence[str]:
        """Customers with this organisation id (on `platform`, or on any)."""
        query = sa.select(t.customer_platform_ids.c.customer_id).where(t.customer_platform_ids.c.org_id == org_id)
        if platform is not None:
            query = query.where(t.customer_platform_ids.c.platform == platform)
        return sorted(set(self.connection.execute(query).scalars()))

    def customer_facts(self, customer_id: str, product: str | None) -> CustomerFacts:
        """The customer's licenses, purchases, contracts and the products they name (one query)."""
        rows: dict[str, list[list[Any]]] = {
            "customer": [],
            "license": [],
            "purchase": [],
            "contract": [],
            "product": [],
        }
        for kind, *values in self.connection.execute(_facts, {"c": customer_id, "p": product}).all():
            rows[kind].append(values)
        if not rows["customer"]:
            raise KeyError(customer_id)
        cid, name = rows["customer"][0][:2]
        day = date.fromisoformat
        return facts_of(
            {"id": cid, "name": name},
            [{"product": a, "since": day(b)} for a, b, *_ in rows["license"]],
            [{"product": a, "date": day(b), "kind": c} for a, b, c, *_ in rows["purchase"]],
            [
                contract_record(
                    {
                        "number": a,
                        "customer_id": cid,
                        "starts": day(b),
                        "ends": day(c),
                        "counterparty": d,
                        "products": json.loads(e),
                        "sla": json.loads(f),
                    }
                )
                for a, b, c, d, e, f in rows["contract"]
            ],
            [{"code": a, "name": b, "withdrawn_on": day(c) if c else None} for a, b, c, *_ in rows["product"]],
        )


def resolve_stored(request: EntitlementRequest, engine: Engine, rules: Rulebook) -> Entitlement:
    """Resolve against the database (one connection, a few indexed queries)."""
    with engine.connect() as conn:
        return resolve(request, SqlRegistry(conn), rules)


def contract_record(row: Mapping[str, Any] | RowMapping) -> Record:
    """A contracts record from a row (column names as stored)."""
    products = row["products"]
    return {
        "number": row["number"],
        "customer": row["customer_id"],
        "counterparty": row["counterparty"],
        "starts": row["starts"],
        "ends": row["ends"],
        "sla": row["sla"],
        "products": products if products == ALL_PRODUCTS else tuple(sorted(products)),
    }


def _to_record(name: str, row: RowMapping) -> Record:
    """A record from a row: column names back to field names."""
    back = {column: field for field, column in COLUMNS.get(name, {}).items()}
    return {back.get(k, k): v for k, v in row.items()}


def _to_row(name: str, record: Mapping[str, Any]) -> dict[str, Any]:
    """A row from a record: field names to column names."""
    names = COLUMNS.get(name, {})
    row = {names.get(k, k): v for k, v in record.items()}
    if name == "contracts" and row["products"] != ALL_PRODUCTS:
        row["products"] = list(row["products"])
    return row


def read_records(conn: sa.Connection, name: str) -> dict[Key, Record]:
    """Every record of the list `name` in the database, by key."""
    if name == "contracts":
        rows = [contract_record(r) for r in conn.execute(sa.select(t.contracts)).mappings()]
    elif name == "customers":
        domains, platforms = defaultdict(list), defaultdict(list)
        for cid, domain in conn.execute(sa.select(t.customer_domains.c.customer_id, t.customer_domains.c.domain)):
            domains[cid].append(domain)
        for cid, platform, org in conn.execute(
            sa.select(
                t.customer_platform_ids.c.customer_id,
                t.customer_platform_ids.c.platform,
                t.customer_platform_ids.c.org_id,
            )
        ):
            platforms[cid].append((platform, org))
        rows = [
            {
                "id": cid,
                "name": cname,
                "email_domains": tuple(sorted(domains[cid])),
                "platform_ids": tuple(sorted(platforms[cid])),
            }
            for cid, cname in conn.execute(sa.select(t.customers.c.id, t.customers.c.name))
        ]
    else:
        rows = [_to_record(name, r) for r in conn.execute(sa.select(TABLES[name])).mappings()]
    return {key_of(name, r): r for r in rows}


def _chunks(items: list[T], size: int = CHUNK) -> Iterable[list[T]]:
    """`items` in slices of `size`."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _where_key(table: sa.Table, prefix: str = "k_") -> sa.ColumnElement[bool]:
    """The primary key equal to bound parameters named prefix + column."""
    return sa.and_(*(c == sa.bindparam(prefix + c.name) for c in table.primary_key.columns))


def write_records(
    conn: sa.Connection,
    name: str,
    created: list[Record],
    updated: list[Record],
    progress: Callable[[str], None] = lambda _m: None,
) -> None:
    """Insert the created records and rewrite the updated ones of the list `name`."""
    table = TABLES[name]
    if name == "customers":  # the customers' own columns now, their domains and platform ids last
        children = (created, updated)
        created = [{"id": r["id"], "name": r["name"]} for r in created]
        updated = [{"id": r["id"], "name": r["name"]} for r in updated]
    for done, chunk in enumerate(_chunks(created), 1):
        conn.execute(table.insert(), [_to_row(name, r) for r in chunk])
        progress(f"{name}: {min(done * CHUNK, len(created)):,} of {len(created):,} created")
    if updated:
        rows = [_to_row(name, r) for r in updated]
        # bind names differ from column names: SQLAlchemy reserves those for its own SET/VALUES
        keyed = [{**{"v_" + c: v for c, v in row.items()}, **{"k_" + c: row[c] for c in PRIMARY[name]}} for row in rows]
        values: dict[str, sa.BindParameter[Any]] = {
            c.name: sa.bindparam("v_" + c.name) for c in table.columns if c.name not in PRIMARY[name]
        }
        for chunk in _chunks(keyed):
            conn.execute(table.update().where(_where_key(table)).values(values), chunk)
    if name == "customers":
        _write_customer_children(conn, *children)


def _write_customer_children(conn: sa.Connection, created: list[Record], updated: list[Record]) -> None:
    """Domains and platform ids of new or changed customers: the file's set replaces the stored one."""
    if updated:
        _delete_customer_children(conn, [r["id"] for r in updated])
    both = created + updated
    domains = [{"customer_id": r["id"], "domain": d} for r in both for d in r["email_domains"]]
    platforms = [{"customer_id": r["id"], "platform": p, "org_id": o} for r in both for p, o in r["platform_ids"]]
    for table, rows in ((t.customer_domains, domains), (t.customer_platform_ids, platforms)):
        for chunk in _chunks(rows):
            conn.execute(table.insert(), chunk)


def _delete_customer_children(conn: sa.Connection, ids: list[str]) -> None:
    """Delete the domains and platform ids of these customers."""
    for table in (t.customer_domains, t.customer_platform_ids):
        for chunk in _chunks([{"cid": i} for i in ids]):
            conn.execute(table.delete().where(table.c.customer_id == sa.bindparam("cid")), chunk)


def delete_records(conn: sa.Connection, name: str, removed: list[Record]) -> None:
    """Delete the records of the list `name` (children of customers too)."""
    if not removed:
        return
    table = TABLES[name]
    if name == "customers":
        _delete_customer_children(conn, [r["id"] for r in removed])
    keys = [{"k_" + c: _to_row(name, r)[c] for c in PRIMARY[name]} for r in removed]
    for chunk in _chunks(keys):
        conn.execute(table.delete().where(_where_key(table)), chunk)
