"""An entitlement as a JSON object: what `connector entitlement --json` prints and the pipeline
records, moments in the vendor's zone."""

from __future__ import annotations

from typing import Any

from connector.core.entitlement import DueTarget, Entitlement
from connector.core.moments import iso


def _moment(target: DueTarget | None) -> str | None:
    """The due moment as ISO 8601, or None."""
    return iso(target.due) if target else None


def _hours(target: DueTarget | None) -> float | int | None:
    """Working hours for JSON: 8 rather than 8.0."""
    if target is None:
        return None
    return int(target.hours) if float(target.hours).is_integer() else target.hours


def as_json(result: Entitlement, zone: Any) -> dict[str, Any]:
    """The entitlement as the JSON object of `connector entitlement --json`, moments in `zone`
    (the vendor's)."""
    contract = result.contract
    return {
        "tier": result.tier.code,
        "at": iso(result.at, zone),
        "customer": None
        if result.customer is None
        else {"id": result.customer.id, "name": result.customer.name, "matched_by": result.matched_by},
        "product": result.product,
        "first_response_hours": _hours(result.first_response),
        "first_response_due": _moment(result.first_response),
        "first_response_basis": result.first_response.basis if result.first_response else None,
        "resolution_hours": _hours(result.resolution),
        "resolution_due": _moment(result.resolution),
        "resolution_basis": result.resolution.basis if result.resolution else None,
        "kb_access": result.kb_access,
        "customer_kb_access": None
        if result.kb is None
        else {
            "granted": result.kb.granted,
            "until": result.kb.until.isoformat() if result.kb.until else None,
            "reason": result.kb.reason,
        },
        "valid_until": result.valid_until.isoformat() if result.valid_until else None,
        "contract": contract.contract if contract else None,
        "dedicated_engineer": contract.dedicated_engineer if contract else None,
        "flags": result.flag_codes,
        "flag_details": [{"code": f.code, "explanation": f.explanation} for f in result.flags],
        "reasons": list(result.reasons),
    }
