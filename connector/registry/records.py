"""The registry's rows in one canonical form, shared by the import, the database and memory.

A record is a plain dict per row of a list (`products`, `customers`, ...), with dates as `date`,
e-mails and domains in lower case and lists sorted, so that a row read back from the database
compares equal to the same row read from a file: that is how a re-import finds it unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from connector.core.registry import (
    ALL_PRODUCTS,
    Contract,
    ContractSla,
    Customer,
    CustomerFacts,
    License,
    Product,
    Purchase,
)

# Parents first: the order rows are written in (and removed in reverse).
LISTS = ("products", "customers", "contacts", "licenses", "purchases", "contracts")
KEYS: dict[str, tuple[str, ...]] = {
    "products": ("code",),
    "customers": ("id",),
    "contacts": ("email",),
    "licenses": ("customer", "product"),
    "purchases": ("customer", "product", "kind", "date"),
    "contracts": ("number",),
}
# (list, field) -> the list its value must be a key of
REFERENCES = {
    ("contacts", "customer"): "customers",
    ("licenses", "customer"): "customers",
    ("licenses", "product"): "products",
    ("purchases", "customer"): "customers",
    ("purchases", "product"): "products",
    ("contracts", "customer"): "customers",
}
DATE_FIELDS = {
    "products": ("withdrawn_on",),
    "licenses": ("since",),
    "purchases": ("date",),
    "contracts": ("starts", "ends"),
}

Record = dict[str, Any]
Key = tuple[Any, ...]  # the values of the list's key fields (KEYS), in order


def _day(value: Any) -> date | None:
    """A date from ISO text (dates pass through)."""
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(value)


def _clean(value: Any) -> Any:
    """Drop the exporter's `x_` keys at any depth (they are not the connector's data)."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if not k.startswith("x_")}
    return value


def to_record(name: str, item: Mapping[str, Any]) -> Record:
    """The canonical record of one schema-valid item of the list `name`."""
    if name == "products":
        return {"code": item["code"], "name": item["name"], "withdrawn_on": _day(item.get("withdrawn_on"))}
    if name == "customers":
        return {
            "id": item["id"],
            "name": item["name"],
            "email_domains": tuple(sorted({d.lower() for d in item.get("email_domains", ())})),
            "platform_ids": tuple(sorted((item.get("platform_ids") or {}).items())),
        }
    if name == "contacts":
        return {"email": item["email"].strip().lower(), "customer": item["customer"], "name": item.get("name")}
    if name == "licenses":
        return {"customer": item["customer"], "product": item["product"], "since": _day(item["since"])}
    if name == "purchases":
        return {
            "customer": item["customer"],
            "product": item["product"],
            "kind": item["kind"],
            "date": _day(item["date"]),
        }
    if name == "contracts":
        products = item["products"]
        return {
            "number": item["number"],
            "customer": item["customer"],
            "counterparty": item["counterparty"],
            "starts": _day(item["starts"]),
            "ends": _day(item["ends"]),
            "products": products if products == ALL_PRODUCTS else tuple(sorted(products)),
            "sla": _clean(dict(item["sla"])),
        }
    raise KeyError(name)


def key_of(name: str, record: Mapping[str, Any]) -> Key:
    """The record's key within its list."""
    return tuple(record[f] for f in KEYS[name])


def to_product(r: Mapping[str, Any]) -> Product:
    """A domain Product from a products record."""
    return Product(r["code"], r["name"], r["withdrawn_on"])


def to_contract(r: Mapping[str, Any]) -> Contract:
    """A domain Contract from a contracts record."""
    products = None if r["products"] == ALL_PRODUCTS else frozenset(r["products"])
    return Contract(
        r["number"], r["counterparty"], r["starts"], r["ends"], products, ContractSla.from_mapping(r["sla"])
    )


def facts_of(
    customer: Mapping[str, Any],
    licenses: Iterable[Mapping[str, Any]],
    purchases: Iterable[Mapping[str, Any]],
    contracts: Iterable[Mapping[str, Any]],
    products: Iterable[Mapping[str, Any]],
) -> CustomerFacts:
    """A customer's facts from its records."""
    return CustomerFacts(
        Customer(customer["id"], customer["name"]),
        tuple(License(r["product"], r["since"]) for r in licenses),
        tuple(Purchase(r["product"], r["kind"], r["date"]) for r in purchases),
        tuple(to_contract(r) for r in contracts),
        {p["code"]: to_product(p) for p in products},
    )
