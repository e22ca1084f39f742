"""The support tiers of the vendor's policy (seed: basic, warranty, individual)."""

from __future__ import annotations

import enum


class Tier(enum.IntEnum):
    """Ordered so that a higher value is a better tier: individual > warranty > basic > none."""

    NONE = 0
    BASIC = 1
    WARRANTY = 2
    INDIVIDUAL = 3

    @property
    def code(self) -> str:
        """The lower-case name used in files, APIs and tickets."""
        return self.name.lower()

    @classmethod
    def from_code(cls, code: str) -> Tier:
        """Parse a tier code such as "warranty"."""
        try:
            return cls[code.upper()]
        except KeyError:
            raise ValueError(f"unknown tier {code!r}") from None
