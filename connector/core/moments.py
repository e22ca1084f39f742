"""How the connector writes a moment for people and machines alike: ISO 8601 to whole seconds,
with `T` between date and time and the UTC offset of the zone it is shown in (the vendor's)."""

from __future__ import annotations

from datetime import datetime, tzinfo


def iso(moment: datetime, zone: tzinfo | None = None) -> str:
    """`2026-12-02T12:57:09+03:00`: whole seconds, in `zone` when given."""
    moment = moment.astimezone(zone) if zone is not None else moment
    return moment.replace(microsecond=0).isoformat()
