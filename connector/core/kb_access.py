"""Who should have the closed knowledge base, and what to change on a platform to get there.

The seed gives "access to the closed part of the knowledge base" to warranty customers; a contract
gives it when its SLA (or the policy's individual tier) says so. Access is the customer's, for all
its contacts: it runs while any warranty of any product runs, or any contract with KB access.
Platforms only apply a plan (`AccessChange`s); they never decide who is entitled.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from connector.core.coverage import warranty_coverage
from connector.core.policy import Policy
from connector.core.registry import CustomerFacts
from connector.core.tiers import Tier

ENDING_NOTICE = timedelta(days=30)  # kb_access_ending: access ends within this
GRANT, REVOKE, REGISTER = "grant", "revoke", "register"


@dataclass(frozen=True)
class KbAccess:
    """A customer's KB access on one day: whether, since when, until when (last day), and why."""

    granted: bool
    reason: str
    since: date | None = None
    until: date | None = None  # last day with access; None = open-ended

    def ends_within(self, day: date, notice: timedelta = ENDING_NOTICE) -> bool:
        """Whether granted access ends within `notice` of `day`."""
        return self.granted and self.until is not None and self.until - day < notice


def kb_access(facts: CustomerFacts, day: date, policy: Policy) -> KbAccess:
    """The customer's KB access on `day`: every running warranty, every running contract with KB
    access; `until` is the latest last day among them, `since` the start of that source."""
    sources: list[tuple[date | None, date | None, str]] = []  # (until, since, why)
    ended: list[str] = []
    for product in sorted({p.product for p in facts.purchases}):
        coverage, purchase = warranty_coverage(facts, product, day, policy)
        if coverage is not None and coverage.kb_access and purchase is not None:
            sources.append(
                (
                    coverage.valid_until,
                    purchase.date,
                    f"warranty of {product} (bought {purchase.date}) runs up to {coverage.valid_until}",
                )
            )
        elif purchase is not None and coverage is None:
            ended.append(f"the warranty of {product} (bought {purchase.date}) has ended")
    individual = policy.terms(Tier.INDIVIDUAL).kb_access
    for contract in facts.contracts:
        allowed = individual if contract.sla.kb_access is None else contract.sla.kb_access
        running = contract.starts <= day <= contract.ends
        if running and allowed:
            sources.append(
                (contract.ends, contract.starts, f"contract {contract.number} includes KB access up to {contract.ends}")
            )
        elif running:
            ended.append(f"contract {contract.number} does not include KB access")
        elif contract.ends < day:
            ended.append(f"contract {contract.number} ended on {contract.ends}")
    if not sources:
        why = "; ".join(ended) or "no warranty and no contract with KB access"
        return KbAccess(False, why)
    until, since, why = max(sources, key=lambda s: s[0] or date.max)
    return KbAccess(True, why, since, until)


@dataclass(frozen=True)
class Desired:
    """One contact's desired KB access (the customer's), for planning."""

    email: str
    customer: str
    access: KbAccess


@dataclass(frozen=True)
class AccessChange:
    """One step of a plan: grant or revoke KB access (or register a portal user) for `email`."""

    email: str
    action: str  # GRANT, REVOKE or REGISTER
    reason: str
    customer: str | None = None
    since: date | None = None
    until: date | None = None

    def describe(self) -> str:
        """One line for people: who, what, why, since/until."""
        span = ""
        if self.since or self.until:
            span = f" [{self.since or '...'} .. {self.until or 'open-ended'}]"
        who = f"{self.email} ({self.customer})" if self.customer else self.email
        return f"{self.action:<8} {who}{span}: {self.reason}"


def plan_access(desired: Iterable[Desired], holders: Iterable[str]) -> list[AccessChange]:
    """Grants for entitled contacts who do not hold access, revokes for holders who are not
    entitled (or unknown to the registry); nothing for those already right. E-mails compare
    lower-case; the plan is sorted (revokes first, then by e-mail) so it reads and resumes the same."""
    holding = {h.strip().lower() for h in holders if h and h.strip()}
    wanted: Mapping[str, Desired] = {d.email.strip().lower(): d for d in desired}
    changes = []
    for email, d in wanted.items():
        has = email in holding
        if d.access.granted and not has:
            changes.append(AccessChange(email, GRANT, d.access.reason, d.customer, d.access.since, d.access.until))
        elif not d.access.granted and has:
            changes.append(AccessChange(email, REVOKE, d.access.reason, d.customer))
    for email in holding - wanted.keys():
        changes.append(AccessChange(email, REVOKE, "not a contact of any customer in the registry"))
    changes.sort(key=lambda c: (c.action != REVOKE, c.email))
    return changes
