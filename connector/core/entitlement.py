"""Entitlement resolution: which support tier a requester gets for a product at a moment, and why.

Pure rules (no database, no clock): the facts come through a `RegistryView`, the moment is in the
request, the policy and calendars in the `Rulebook`. The order is the issue's: identify the
customer, find every tier that covers the product, take the highest tier but the earliest due
moment per metric (a customer never gets worse terms by paying), then flag what the agent should know.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from connector.core import flags as flagging
from connector.core.calendar import BusinessCalendar
from connector.core.coverage import Coverage, basic_coverage, contract_coverages, warranty_coverage
from connector.core.errors import BadInput
from connector.core.flags import Flag
from connector.core.kb_access import KbAccess, kb_access
from connector.core.policy import Policy
from connector.core.registry import Customer, CustomerFacts, RegistryView
from connector.core.tiers import Tier

REQUEST_TYPES = ("error", "information", "proposal")
TOPICS = ("installation", "functionality", "other")
CHANNELS = ("email", "phone", "portal", "office", "messenger", "remote")


@dataclass(frozen=True)
class Rulebook:
    """The policy, and the calendar for a calendar document (cached by the caller)."""

    policy: Policy
    calendar_for: Callable[[Any], BusinessCalendar]  # the SLA clocks and alerts count on it too

    @property
    def vendor_calendar(self) -> BusinessCalendar:
        """The policy's calendar; its zone is the one registry dates are in."""
        return self.calendar_for(self.policy.calendar)

    def today(self, now: datetime) -> date:
        """The vendor's calendar day at `now` (registry dates are the vendor's days)."""
        return now.astimezone(self.vendor_calendar.zone).date()

    def target_calendar(self, ent: Entitlement, due: DueTarget | None) -> Any:
        """The calendar document a metric's target counts on: that of the coverage that gave the
        earliest due moment, else the policy's (also what the stored clocks record)."""
        if due is None:
            return self.policy.calendar
        return next((c.calendar for c in ent.coverages if c.basis == due.basis), self.policy.calendar)


@dataclass(frozen=True)
class EntitlementRequest:
    """Who asks, about what, how, and when (an aware moment: the ticket's creation)."""

    email: str
    at: datetime
    product: str | None = None
    request_type: str = "error"
    topic: str | None = None
    channel: str | None = None
    platform: str | None = None
    org_id: str | None = None

    def __post_init__(self) -> None:
        """Reject a naive moment and values outside the known lists."""
        if self.at.tzinfo is None or self.at.utcoffset() is None:
            raise BadInput(f"naive moment {self.at.isoformat()}: give a UTC offset")
        for name, value, allowed in (
            ("request type", self.request_type, REQUEST_TYPES),
            ("topic", self.topic, TOPICS),
            ("channel", self.channel, CHANNELS),
        ):
            if value is not None and value not in allowed:
                raise BadInput(f"unknown {name} {value!r} (one of: {', '.join(allowed)})")


@dataclass(frozen=True)
class DueTarget:
    """A target that applies: working hours, the due moment, and which tier or contract gave it."""

    hours: float
    due: datetime
    basis: str


@dataclass(frozen=True)
class Entitlement:
    """The resolution: tier, targets, KB access, flags and the reasons behind them."""

    tier: Tier
    at: datetime
    customer: Customer | None = None
    matched_by: str | None = None  # contact, domain or platform
    product: str | None = None
    first_response: DueTarget | None = None
    resolution: DueTarget | None = None
    kb_access: bool = False
    valid_until: date | None = None
    flags: tuple[Flag, ...] = ()
    reasons: tuple[str, ...] = ()
    coverages: tuple[Coverage, ...] = field(default=(), repr=False)
    kb: KbAccess | None = None  # the customer's closed-KB access that day (all products, contracts)

    @property
    def flag_codes(self) -> list[str]:
        """The flags' codes, in the order they were raised."""
        return [f.code for f in self.flags]

    @property
    def contract(self) -> Coverage | None:
        """The individual contract that applies, if any."""
        return next((c for c in self.coverages if c.contract), None)


@dataclass(frozen=True)
class _Identity:
    customer_id: str | None
    matched_by: str | None = None
    match: str = ""
    flag: Flag | None = None


def identify(request: EntitlementRequest, registry: RegistryView) -> _Identity:
    """The customer: the contact's e-mail, else the platform organisation the admin mapped, else
    an e-mail domain that belongs to one customer. When the domain names another customer than
    the organisation, the organisation wins and `customer_conflict` names both."""
    email = request.email.strip().lower()
    found = registry.customers_by_email(email)
    if found:
        return _Identity(found[0], "contact", f"contact e-mail {email}")
    domain = email.rpartition("@")[2]
    by_domain = list(registry.customers_by_domain(domain)) if domain else []
    by_org = list(registry.customers_by_platform(request.platform, request.org_id)) if request.org_id else []
    where = f"organisation {request.org_id}" + (f" on {request.platform}" if request.platform else "")
    if len(by_org) == 1:
        flag = None
        if len(by_domain) == 1 and by_domain[0] != by_org[0]:
            flag = Flag(
                "customer_conflict",
                (
                    f"{where} is customer {by_org[0]}, but the e-mail domain {domain} is customer {by_domain[0]};"
                    f" resolved as {by_org[0]}: make the requester a contact of the right one"
                ),
            )
        return _Identity(by_org[0], "platform", where, flag)
    if len(by_domain) == 1:
        return _Identity(by_domain[0], "domain", f"e-mail domain {domain}")
    if len(by_org) > 1 or len(by_domain) > 1:
        ambiguous = [f"{where} belongs to {len(by_org)} customers ({', '.join(sorted(by_org))})"] if by_org else []
        if len(by_domain) > 1:
            ambiguous.append(
                f"the e-mail domain {domain} belongs to {len(by_domain)} customers ({', '.join(sorted(by_domain))})"
            )
        return _Identity(
            None,
            flag=Flag("ambiguous_customer", "; ".join(ambiguous) + "; add the requester as a contact of one of them"),
        )
    return _Identity(
        None,
        flag=Flag(
            "unknown_requester",
            (
                f"{email} is neither a contact nor on a customer's e-mail domain"
                + (f", and organisation {request.org_id} is not in the registry" if request.org_id else "")
                + "; no support tier applies until the registry knows them"
            ),
        ),
    )


def resolve(request: EntitlementRequest, registry: RegistryView, rules: Rulebook) -> Entitlement:
    """The entitlement of `request` at `request.at` (see the module docstring for the rules)."""
    day = request.at.astimezone(rules.vendor_calendar.zone).date()
    who = identify(request, registry)
    if who.customer_id is None:
        return Entitlement(
            Tier.NONE, request.at, flags=(who.flag,) if who.flag else (), reasons=("no customer identified",)
        )
    facts = registry.customer_facts(who.customer_id, request.product)
    found = f"customer {facts.customer.name} ({facts.customer.id}) identified by {who.match}"
    candidates, note, unknown = _products_to_try(request.product, facts)
    results = [_assess(request, facts, code, day, rules) for code in candidates]
    best = min(results, key=_rank)
    flags = ([who.flag] if who.flag else []) + list(best.flags)
    if unknown:
        flags.insert(0, Flag("unknown_product", unknown))
    flags += flagging.scope(request.request_type, request.topic, request.channel, best.tier, best.coverages)
    kb = kb_access(facts, day, rules.policy)
    announced = any(f.code == "warranty_expiring_soon" for f in flags) and kb.until == best.valid_until
    # kb.until is not None when it ends_within; announced: the warranty's own flag already says it
    if kb.until is not None and kb.ends_within(day) and not announced:
        flags.append(
            Flag(
                "kb_access_ending",
                (
                    f"closed knowledge-base access ends after {kb.until} ({(kb.until - day).days + 1} day(s) left):"
                    f" {kb.reason}"
                ),
            )
        )
    return Entitlement(
        best.tier,
        request.at,
        facts.customer,
        who.matched_by,
        best.product,
        best.first_response,
        best.resolution,
        best.kb_access,
        best.valid_until,
        tuple(flags),
        (found, *note, *best.reasons),
        best.coverages,
        kb,
    )


def _products_to_try(product: str | None, facts: CustomerFacts) -> tuple[Sequence[str | None], list[str], str]:
    """Products to resolve, a reason, and an unknown_product explanation ("" when known)."""
    if product is not None and product in facts.products:
        return [product], [], ""
    held = facts.known_products()
    asked = f"product {product!r} is not in the registry" if product else "no product given"
    if len(held) == 1:
        note = f"{asked}; the customer's only product {held[0]} is assumed"
        return held, [note], (note if product else "")
    if not held:
        return [None], [f"{asked}; the customer holds no product"], f"{asked} and the customer holds none"
    return (
        held,
        [f"{asked}; resolved for each of the customer's products ({', '.join(held)}) and the best taken"],
        (f"{asked}; the customer holds {len(held)} products, the best entitlement among them is shown"),
    )


def _assess(
    request: EntitlementRequest, facts: CustomerFacts, product: str | None, day: date, rules: Rulebook
) -> Entitlement:
    """The entitlement for one product (flags about the product, not yet about the request)."""
    policy = rules.policy
    coverages = contract_coverages(facts, product, day, request.request_type, policy)
    warranty, purchase = warranty_coverage(facts, product, day, policy)
    basic = basic_coverage(facts, product, day, policy)
    coverages += [c for c in (warranty, basic) if c is not None]
    flags, reasons = [], [c.reason for c in coverages]
    known = facts.products.get(product) if product else None
    if known is not None and known.withdrawn(day):
        flags.append(
            Flag(
                "product_withdrawn",
                f"{known.name} ({known.code}) was withdrawn from support"
                f" on {known.withdrawn_on}: basic support no longer applies",
            )
        )
    ended = []
    if purchase is not None and warranty is None:
        ended.append(f"the warranty of the purchase on {purchase.date} has ended")
        reasons.append(ended[-1])
    flags += flagging.expiring(coverages, day)
    if not coverages:
        ended += [
            f"contract {c.number} ran {c.starts} to {c.ends}"
            for c in facts.contracts
            if c.products is None or (product is not None and product in c.products)
        ]
        reasons.append(f"no contract, warranty or license covers {product or 'this request'} on {day}")
        if not any(f.code == "product_withdrawn" for f in flags):  # that flag says why already
            flags.append(flagging.no_coverage(facts, product, day, ended))
        return Entitlement(Tier.NONE, request.at, product=product, flags=tuple(flags), reasons=tuple(reasons))
    everything = {c.number for c in facts.contracts if c.products is None}
    flags += flagging.unlicensed(coverages, facts, product, day, lambda number: number in everything)
    flags += flagging.below_standard(coverages, request.at, lambda c, m: _due(request.at, c, m, rules))
    coverages.sort(key=lambda c: -c.tier)  # ties of due moments go to the higher tier
    tier = coverages[0].tier
    first = _earliest(request.at, coverages, "first_response", rules)
    resolution = _earliest(request.at, coverages, "resolution", rules)
    for target, name in ((first, "first response"), (resolution, "resolution")):
        if target is not None and target.basis != coverages[0].basis:
            reasons.append(
                f"{name}: the {target.basis}'s {target.hours:g} working hours give an earlier"
                f" due moment than the {coverages[0].basis}'s terms"
            )
    valid_until = max((c.valid_until for c in coverages if c.tier == tier), key=lambda d: d or date.max)
    return Entitlement(
        tier,
        request.at,
        product=product,
        first_response=first,
        resolution=resolution,
        kb_access=any(c.kb_access for c in coverages),
        valid_until=valid_until,
        flags=tuple(flags),
        reasons=tuple(reasons),
        coverages=tuple(coverages),
    )


def _due(at: datetime, coverage: Coverage, metric: str, rules: Rulebook) -> datetime | None:
    """The due moment a coverage gives for `metric` on its own calendar: whole seconds, in the
    vendor's zone (None: not regulated)."""
    target: timedelta | None = getattr(coverage, metric)
    if target is None:
        return None
    return (
        rules.calendar_for(coverage.calendar)
        .add(at, target)
        .astimezone(rules.vendor_calendar.zone)
        .replace(microsecond=0)
    )


def _earliest(at: datetime, coverages: list[Coverage], metric: str, rules: Rulebook) -> DueTarget | None:
    """The earliest due moment for `metric` among the coverages, each on its own calendar."""
    best: DueTarget | None = None
    for coverage in coverages:
        due = _due(at, coverage, metric, rules)
        if due is not None and (best is None or due < best.due):
            best = DueTarget(getattr(coverage, metric) / timedelta(hours=1), due, coverage.basis)
    return best


def _rank(result: Entitlement) -> tuple[int, tuple[int, float], tuple[int, float], bool]:
    """Sort key: the best entitlement first (tier, then earliest targets, then KB access)."""

    def due(target: DueTarget | None) -> tuple[int, float]:
        return (1, 0.0) if target is None else (0, target.due.timestamp())

    return (-result.tier, due(result.first_response), due(result.resolution), not result.kb_access)
