"""Which tiers cover one product of one customer on one day (the seed's three kinds of support).

Each applicable tier becomes a `Coverage`: its targets, calendar, channels and KB access. The
caller (`connector.core.entitlement`) then picks the tier and the best targets among them.
"""

from __future__ import annotations

import calendar as gregorian
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from connector.core.policy import Policy
from connector.core.registry import Contract, CustomerFacts, Purchase
from connector.core.tiers import Tier


@dataclass(frozen=True)
class Coverage:
    """One tier that applies, with what it promises and why it applies."""

    tier: Tier
    reason: str
    valid_until: date | None  # last covered day; None = open-ended
    calendar: Any  # calendar document its targets count on
    first_response: timedelta | None
    resolution: timedelta | None
    kb_access: bool
    channels: frozenset[str]
    information_topics: frozenset[str]
    contract: str | None = None
    dedicated_engineer: str | None = None
    ends: date | None = None  # first day no longer covered (the day after the last covered one)

    @property
    def basis(self) -> str:
        """What the targets come from, for the agent: "warranty" or "contract C-17"."""
        return f"contract {self.contract}" if self.contract else self.tier.code


def add_months(day: date, months: int) -> date:
    """The same date `months` later; where that month has no such day, its last day."""
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return date(year, month, min(day.day, gregorian.monthrange(year, month)[1]))


def period_end(start: date, months: int) -> date:
    """The last day of a period of `months` that begins with the event on `start`, as the Russian
    Civil Code counts it: the period runs from the next day (art. 191) and a period in months or
    years expires on the corresponding day of its last month, or that month's last day when it has
    none (art. 192, 193): bought on 2025-03-15, a year runs through 2026-03-15; on 2024-02-29,
    through 2025-02-28."""
    return add_months(start, months)


def _hours(value: float | None) -> timedelta | None:
    """Hours as a timedelta (None stays None: not regulated)."""
    return None if value is None else timedelta(hours=value)


def contract_coverages(
    facts: CustomerFacts, product: str | None, day: date, request_type: str, policy: Policy
) -> list[Coverage]:
    """Every contract of the customer covering the product on `day` (first and last day included)."""
    terms = policy.terms(Tier.INDIVIDUAL)
    found = []
    for contract in facts.contracts:
        if not contract.covers(product, day):
            continue
        first, resolution = contract.sla.hours_for(request_type)
        sla = contract.sla
        found.append(
            Coverage(
                Tier.INDIVIDUAL,
                _contract_reason(contract),
                contract.ends,
                sla.calendar if sla.calendar is not None else policy.calendar,
                _hours(first),
                _hours(resolution),
                terms.kb_access if sla.kb_access is None else sla.kb_access,
                terms.channels | (sla.channels or frozenset()),  # the seed's "additional channels"
                terms.information_topics,
                contract.number,
                sla.dedicated_engineer,
                ends=contract.ends + timedelta(days=1),
            )
        )
    return found


def _contract_reason(contract: Contract) -> str:
    """Why a contract applies, in one line."""
    scope = "every product" if contract.products is None else ", ".join(sorted(contract.products))
    return (
        f"individual: contract {contract.number} with the {contract.counterparty.replace('_', ' ')}"
        f" covers {scope} from {contract.starts} to {contract.ends}"
    )


def warranty_coverage(
    facts: CustomerFacts, product: str | None, day: date, policy: Policy
) -> tuple[Coverage | None, Purchase | None]:
    """The warranty year of the latest purchase of the product made on or before `day`, if it
    still runs; also that purchase (to explain an expired warranty)."""
    bought = [p for p in facts.purchases if p.product == product and p.date <= day]
    if not bought:
        return None, None
    latest = max(bought, key=lambda p: p.date)
    terms = policy.terms(Tier.WARRANTY)
    last = period_end(latest.date, terms.duration_months or 12)
    ends = last + timedelta(days=1)
    if day > last:
        return None, latest
    what = f"an update package of {product}" if latest.kind == "update_package" else product
    reason = f"warranty: purchase of {what} on {latest.date} covers up to {last} inclusive"
    return Coverage(
        Tier.WARRANTY,
        reason,
        last,
        policy.calendar,
        terms.first_response,
        terms.resolution,
        terms.kb_access,
        terms.channels,
        terms.information_topics,
        ends=ends,
    ), latest


def licensed_since(facts: CustomerFacts, product: str | None) -> tuple[date, str] | None:
    """Since when the customer is a licensed user of `product`, and why: the registry's license
    rows when it has some for the product (they say otherwise than purchases, if they do); else
    the first purchase of the product or of its update package (a buyer is a licensed user)."""
    rows = [lic.since for lic in facts.licenses if lic.product == product]
    if rows:
        return min(rows), f"license for {product} since {min(rows)}"
    bought = [p for p in facts.purchases if p.product == product]
    if not bought:
        return None
    first = min(bought, key=lambda p: p.date)
    what = "an update package of " if first.kind == "update_package" else ""
    return first.date, f"a licensed user of {product} since the purchase of {what}{product} on {first.date}"


def basic_coverage(facts: CustomerFacts, product: str | None, day: date, policy: Policy) -> Coverage | None:
    """Basic support: a licensed user of the product on `day`, the product not withdrawn."""
    licensed = licensed_since(facts, product)
    known = facts.products.get(product) if product else None
    if licensed is None or licensed[0] > day or (known is not None and known.withdrawn(day)):
        return None
    terms = policy.terms(Tier.BASIC)
    until = known.withdrawn_on - timedelta(days=1) if known and known.withdrawn_on else None
    reason = f"basic: {licensed[1]}" + (f", supported up to {until}" if until else "")
    return Coverage(
        Tier.BASIC,
        reason,
        until,
        policy.calendar,
        terms.first_response,
        terms.resolution,
        terms.kb_access,
        terms.channels,
        terms.information_topics,
    )
