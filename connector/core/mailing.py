"""The information mailing (the seed's warranty service "information support": service packs,
updates, new software, events): who is on the list on a day, for which products, until when.

A customer is on it while a warranty of any of its products runs, or a contract; every contact of
the customer is then on the list. Products: those covered that day (a warranty's product; a
contract's products, where `*` means the customer's licensed products). Tier: the highest running
(individual for a contract, else warranty). Until: the last day of the latest warranty or contract
running that day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from connector.core.coverage import warranty_coverage
from connector.core.kb_access import KbAccess
from connector.core.policy import Policy
from connector.core.registry import CustomerFacts
from connector.core.tiers import Tier


@dataclass(frozen=True)
class Subscription:
    """A customer's place on the mailing list on one day."""

    tier: Tier
    products: tuple[str, ...]
    until: date
    since: date
    reason: str

    def as_access(self) -> KbAccess:
        """The same as the "access" a tag lever plans with (granted: the contact holds the tag)."""
        return KbAccess(True, self.reason, self.since, self.until)


def information_support(facts: CustomerFacts, day: date, policy: Policy) -> Subscription | None:
    """The customer's subscription on `day`, or None when no warranty and no contract runs."""
    products: set[str] = set()
    sources: list[tuple[date, date, Tier, str]] = []  # (until, since, tier, why)
    for product in sorted({p.product for p in facts.purchases}):
        coverage, purchase = warranty_coverage(facts, product, day, policy)
        if coverage is not None and purchase is not None and coverage.valid_until is not None:
            products.add(product)
            sources.append(
                (
                    coverage.valid_until,
                    purchase.date,
                    Tier.WARRANTY,
                    f"warranty of {product} (bought {purchase.date}) runs up to {coverage.valid_until}",
                )
            )
    licensed = {lic.product for lic in facts.licenses if lic.since <= day}
    for contract in facts.contracts:
        if contract.starts <= day <= contract.ends:
            products |= licensed if contract.products is None else set(contract.products)
            sources.append(
                (
                    contract.ends,
                    contract.starts,
                    Tier.INDIVIDUAL,
                    f"contract {contract.number} runs up to {contract.ends}",
                )
            )
    if not sources:
        return None
    until, since, _tier, why = max(sources, key=lambda s: s[0])
    tier = max(s[2] for s in sources)
    return Subscription(tier, tuple(sorted(products)), until, since, why)


def no_subscription(facts: CustomerFacts, day: date) -> KbAccess:
    """What a tag lever plans for a customer off the list: the tag is taken away."""
    return KbAccess(False, f"no warranty and no contract of {facts.customer.id} runs on {day}")
