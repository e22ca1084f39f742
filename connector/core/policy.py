"""The support policy as domain objects: what each tier promises.

Built from a policy document (the default one ships as `connector/data/policy.default.json`,
validated by `schemas/policy.schema.json`); the numbers of the seed live there, not in code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from connector.core.tiers import Tier


def _hours(value: float | None) -> timedelta | None:
    return None if value is None else timedelta(hours=value)


@dataclass(frozen=True)
class TierTerms:
    """What one tier promises: targets in working time (None = not regulated), channels, services."""

    tier: Tier
    first_response: timedelta | None
    resolution: timedelta | None
    channels: frozenset[str]
    information_topics: frozenset[str]
    kb_access: bool = False
    portal_registration: bool = False
    duration_months: int | None = None
    mode: str = ""
    services: tuple[str, ...] = ()

    @classmethod
    def from_mapping(cls, tier: Tier, doc: Mapping[str, Any]) -> TierTerms:
        """Terms from one `tiers.<name>` object of a policy document."""
        return cls(
            tier=tier,
            first_response=_hours(doc["first_response_hours"]),
            resolution=_hours(doc["resolution_hours"]),
            channels=frozenset(doc["channels"]),
            information_topics=frozenset(doc.get("information_topics", ())),
            kb_access=bool(doc.get("kb_access", False)),
            portal_registration=bool(doc.get("portal_registration", False)),
            duration_months=doc.get("duration_months"),
            mode=doc.get("mode", ""),
            services=tuple(doc.get("services", ())),
        )


@dataclass(frozen=True)
class Policy:
    """All tiers' terms plus the calendar the basic and warranty tiers run on."""

    terms_by_tier: Mapping[Tier, TierTerms]
    calendar: Any = "default"  # a calendar document (see schemas/calendar.schema.json)
    source: str = ""

    def terms(self, tier: Tier) -> TierTerms:
        """The terms of `tier` (KeyError for Tier.NONE, which promises nothing)."""
        return self.terms_by_tier[tier]

    @classmethod
    def from_mapping(cls, doc: Mapping[str, Any]) -> Policy:
        """A Policy from a document already validated against policy.schema.json."""
        tiers = {
            Tier.from_code(name): TierTerms.from_mapping(Tier.from_code(name), body)
            for name, body in doc["tiers"].items()
        }
        return cls(tiers, doc.get("calendar", "default"), doc.get("source", ""))
