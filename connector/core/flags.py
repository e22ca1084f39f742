"""What a support manager should know about a request, beside its tier: the flags an
entitlement carries, each with its explanation. Raising a flag never refuses a request.

- `warranty_expiring_soon`, `contract_expiring_soon`: the coverage ends within 30 days;
- `no_coverage`: a known customer holds no license, purchase or contract for the product;
- `contract_below_standard`: a contract promises less than the free tier the customer would get
  anyway (the earliest due moment still applies: paying never makes terms worse);
- `unlicensed_product`: an all-products (`*`) contract used for a product the customer holds no
  license for;
- `outside_tier_scope`: the channel or the information topic is not part of the tier; an
  information request with no topic is about functionality (the seed defines it so).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from connector.core.coverage import Coverage, licensed_since
from connector.core.moments import iso
from connector.core.registry import CustomerFacts
from connector.core.tiers import Tier

EXPIRY_NOTICE = timedelta(days=30)  # *_expiring_soon: the coverage ends within this
METRICS = (("first_response", "first response"), ("resolution", "resolution"))


@dataclass(frozen=True)
class Flag:
    """Something the agent should know; the ticket is still served."""

    code: str
    explanation: str


def expiring(coverages: Sequence[Coverage], day: date) -> list[Flag]:
    """The warranty or a contract ends within EXPIRY_NOTICE of `day`."""
    flags = []
    for c in coverages:
        if c.ends is None or c.ends - day > EXPIRY_NOTICE or c.tier is Tier.BASIC:
            continue
        left = (c.ends - day).days
        if c.contract:
            flags.append(
                Flag(
                    "contract_expiring_soon",
                    (
                        f"contract {c.contract} ends after {c.valid_until} ({left} day(s) left): its terms, the"
                        " dedicated engineer and its extra channels end with it unless it is renewed"
                    ),
                )
            )
        else:
            flags.append(
                Flag(
                    "warranty_expiring_soon",
                    (
                        f"the warranty ends after {c.valid_until} ({left} day(s) left):"
                        " faster targets and the closed knowledge base end with it"
                    ),
                )
            )
    return flags


def no_coverage(facts: CustomerFacts, product: str | None, day: date, ended: Sequence[str]) -> Flag:
    """Why a known customer has no tier for the product."""
    what = product or "any product"
    why = list(ended) or [
        f"{facts.customer.name} ({facts.customer.id}) holds no license, purchase or contract for {what}"
    ]
    return Flag("no_coverage", "; ".join(why) + f": no support tier applies on {day}")


def unlicensed(
    coverages: Sequence[Coverage],
    facts: CustomerFacts,
    product: str | None,
    day: date,
    all_products: Callable[[str], bool],
) -> list[Flag]:
    """An all-products contract used for a product the customer holds no license for."""
    licensed = licensed_since(facts, product)
    if product is None or (licensed is not None and licensed[0] <= day):
        return []
    return [
        Flag(
            "unlicensed_product",
            (
                f"contract {c.contract} covers every product, but the customer holds no license for {product}"
                " (nor bought it): check the license before serving it under the contract"
            ),
        )
        for c in coverages
        if c.contract and all_products(c.contract)
    ]


def below_standard(
    coverages: Sequence[Coverage],
    at: datetime,
    due: Callable[[Coverage, str], datetime | None],
) -> list[Flag]:
    """Contracts whose due moments come later than the free tier's (warranty or basic) would."""
    free = [c for c in coverages if c.tier in (Tier.WARRANTY, Tier.BASIC)]
    flags = []
    for contract in (c for c in coverages if c.contract):
        worse = []
        for metric, title in METRICS:
            paid = due(contract, metric)
            dues = [(d, c) for c in free if (d := due(c, metric)) is not None]
            if not dues:
                continue
            best, by = min(dues, key=lambda pair: pair[0])
            if paid is None or paid > best:
                worse.append(
                    f"{title} {'not regulated' if paid is None else f'due {iso(paid)}'}"
                    f" against the {by.tier.code} tier's {iso(best)}"
                )
        if worse:
            flags.append(
                Flag(
                    "contract_below_standard",
                    (
                        f"contract {contract.contract} promises less than the free {free[0].tier.code} tier: "
                        + "; ".join(worse)
                        + "; the earlier due moments apply"
                    ),
                )
            )
    return flags


def scope(
    request_type: str, topic: str | None, channel: str | None, tier: Tier, coverages: Sequence[Coverage]
) -> list[Flag]:
    """outside_tier_scope: the channel or the information topic is not among what the applicable
    tiers offer (basic: phone and e-mail, installation questions only; see the policy)."""
    if tier == Tier.NONE:
        return []
    channels = frozenset().union(*(c.channels for c in coverages))
    topics = frozenset().union(*(c.information_topics for c in coverages))
    if request_type == "information" and topic is None:
        topic = "functionality"  # the seed: an information request asks about functionality
    why = []
    if channel is not None and channel not in channels:
        why.append(f"the {tier.code} tier is served by {', '.join(sorted(channels))}, not {channel}")
    if request_type == "information" and topic not in topics:
        why.append(
            f"information requests on {topic} are not part of the {tier.code} tier"
            f" (it covers {', '.join(sorted(topics)) or 'none'})"
        )
    return [Flag("outside_tier_scope", "; ".join(why) + "; serve it, but the customer should know")] if why else []
