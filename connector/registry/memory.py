"""A registry held in memory: resolve against a registry file without importing it, and test the
rules without a database. Same `RegistryView` as the SQL one."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from connector.core.errors import ValidationFailed
from connector.core.registry import CustomerFacts
from connector.registry.checks import check_registry
from connector.registry.records import LISTS, Record, facts_of
from connector.registry.sources import RegistrySource, read_source


class MemoryRegistry:
    """`RegistryView` over checked records (see `connector.registry.records`)."""

    def __init__(self, records: Mapping[str, list[Record]]) -> None:
        """Index the records the way the SQL tables are indexed."""
        self.products = {r["code"]: r for r in records.get("products", [])}
        self.customers = {r["id"]: r for r in records.get("customers", [])}
        self.contacts = {r["email"]: r["customer"] for r in records.get("contacts", [])}
        self.by_domain: dict[str, list[str]] = defaultdict(list)
        self.by_platform: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for customer in self.customers.values():
            for domain in customer["email_domains"]:
                self.by_domain[domain].append(customer["id"])
            for platform, org in customer["platform_ids"]:
                self.by_platform[org].append((platform, customer["id"]))
        self.facts: dict[str, dict[str, list[Record]]] = defaultdict(lambda: defaultdict(list))
        for name in ("licenses", "purchases", "contracts"):
            for record in records.get(name, []):
                self.facts[record["customer"]][name].append(record)

    @classmethod
    def from_document(cls, document: Any, origin: str = "registry") -> MemoryRegistry:
        """A registry from a JSON-shaped document; ValidationFailed lists every problem."""
        return cls._checked(RegistrySource(origin, document))

    @classmethod
    def from_file(cls, path: str | Path) -> MemoryRegistry:
        """A registry from a JSON file or a CSV folder, checked as an import would be."""
        return cls._checked(read_source(path))

    @classmethod
    def _checked(cls, source: RegistrySource) -> MemoryRegistry:
        """A registry from a source, or ValidationFailed with every problem."""
        problems, records = check_registry(source, {name: () for name in LISTS}, replace=False)
        if problems:
            raise ValidationFailed(f"{source.origin}: the registry is invalid ({len(problems)} problem(s))", problems)
        return cls(records)

    def customers_by_email(self, email: str) -> Sequence[str]:
        """The customer of the contact with this lower-case e-mail."""
        return [self.contacts[email]] if email in self.contacts else []

    def customers_by_domain(self, domain: str) -> Sequence[str]:
        """Customers listing this lower-case domain."""
        return sorted(self.by_domain.get(domain, []))

    def customers_by_platform(self, platform: str | None, org_id: str) -> Sequence[str]:
        """Customers with this organisation id (on `platform`, or on any)."""
        return sorted({c for p, c in self.by_platform.get(org_id, []) if platform in (None, p)})

    def customer_facts(self, customer_id: str, product: str | None) -> CustomerFacts:
        """The customer's facts and the products they name (plus `product`, if known)."""
        own = self.facts.get(customer_id, {})
        codes = {r["product"] for n in ("licenses", "purchases") for r in own.get(n, [])} | {product}
        return facts_of(
            self.customers[customer_id],
            own.get("licenses", []),
            own.get("purchases", []),
            own.get("contracts", []),
            [self.products[c] for c in codes if c in self.products],
        )
