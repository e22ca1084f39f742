"""The customer registry's facts as domain objects, and the narrow view resolution reads them through.

Storage (SQL) and the in-memory registry both implement `RegistryView`; the resolution rules in
`connector.core.entitlement` see only these objects, never a database row or a file's dict.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

PURCHASE_KINDS = ("product", "update_package")
COUNTERPARTIES = ("regional_office", "dealer", "central")
ALL_PRODUCTS = "*"


@dataclass(frozen=True)
class Product:
    """A product of the vendor; `withdrawn_on` is the first day it is no longer supported."""

    code: str
    name: str
    withdrawn_on: date | None = None

    def withdrawn(self, day: date) -> bool:
        """Whether the product is withdrawn from support on `day`."""
        return self.withdrawn_on is not None and day >= self.withdrawn_on


@dataclass(frozen=True)
class Customer:
    """A customer organisation (`id` as the CRM knows it)."""

    id: str
    name: str


@dataclass(frozen=True)
class License:
    """The customer's license for a product, valid from `since`."""

    product: str
    since: date


@dataclass(frozen=True)
class Purchase:
    """A purchase of a product or of an update package, on `date` (starts a warranty year)."""

    product: str
    kind: str
    date: date


@dataclass(frozen=True)
class ContractSla:
    """The SLA appendix of a contract: targets in working hours on its calendar."""

    first_response_hours: float | None
    resolution_hours: float | None
    calendar: Any = None  # a calendar document; None = the policy's calendar
    kb_access: bool | None = None  # None = the policy's default for the individual tier
    dedicated_engineer: str | None = None
    channels: frozenset[str] | None = None  # None = the policy's individual channels
    targets: Mapping[str, Mapping[str, float | None]] = field(default_factory=dict)

    @classmethod
    def from_mapping(cls, doc: Mapping[str, Any]) -> ContractSla:
        """An SLA from the `sla` object of a registry contract (already schema-valid)."""
        channels = doc.get("channels")
        return cls(
            doc.get("first_response_hours"),
            doc.get("resolution_hours"),
            doc.get("calendar"),
            doc.get("kb_access"),
            doc.get("dedicated_engineer"),
            None if channels is None else frozenset(channels),
            dict(doc.get("targets", {})),
        )

    def hours_for(self, request_type: str) -> tuple[float | None, float | None]:
        """(first response, resolution) hours for a request type; per-type targets win."""
        own = self.targets.get(request_type, {})
        return (
            own.get("first_response_hours", self.first_response_hours),
            own.get("resolution_hours", self.resolution_hours),
        )


@dataclass(frozen=True)
class Contract:
    """An individual-support contract; `starts` and `ends` are both covered days."""

    number: str
    counterparty: str
    starts: date
    ends: date
    products: frozenset[str] | None  # None = every product ("*")
    sla: ContractSla

    def covers(self, product: str | None, day: date) -> bool:
        """Whether the contract covers `product` (None: not known) on `day`."""
        in_scope = self.products is None or (product is not None and product in self.products)
        return in_scope and self.starts <= day <= self.ends


@dataclass(frozen=True)
class CustomerFacts:
    """Everything resolution needs about one customer, plus the products it may ask about."""

    customer: Customer
    licenses: tuple[License, ...] = ()
    purchases: tuple[Purchase, ...] = ()
    contracts: tuple[Contract, ...] = ()
    products: Mapping[str, Product] = field(default_factory=dict)

    def known_products(self) -> list[str]:
        """Codes of the products the customer holds a license, a purchase or a named contract for."""
        codes = {lic.product for lic in self.licenses} | {p.product for p in self.purchases}
        for contract in self.contracts:
            codes |= contract.products or set()
        return sorted(codes)


class RegistryView(Protocol):
    """Read access to the registry, as narrow as resolution needs (ids are customer ids)."""

    def customers_by_email(self, email: str) -> Sequence[str]:
        """The customer of the contact with this (lower-case) e-mail, if any."""

    def customers_by_domain(self, domain: str) -> Sequence[str]:
        """Every customer that lists this (lower-case) e-mail domain."""

    def customers_by_platform(self, platform: str | None, org_id: str) -> Sequence[str]:
        """Customers with this organisation id on `platform` (None: on any platform)."""

    def customer_facts(self, customer_id: str, product: str | None) -> CustomerFacts:
        """The customer's facts; `products` also holds `product` when the registry knows it."""
