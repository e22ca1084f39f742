"""Resolve entitlements against the stored registry: the pure rules of `connector.core.entitlement`
wired to the database, the policy and cached calendars."""
from __future__ import annotations

import json
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy.engine import Engine

from connector.config.calendars import build_calendar
from connector.core.calendar import BusinessCalendar
from connector.core.entitlement import DueTarget, Entitlement, EntitlementRequest, Rulebook, resolve
from connector.core.registry import RegistryView
from connector.config.policies import load_policy
from connector.storage.registry import SqlRegistry


@lru_cache(maxsize=512)
def _calendar(doc_json: str) -> BusinessCalendar:
    """The calendar of a JSON-serialised document (the cache key)."""
    return build_calendar(json.loads(doc_json))


def calendar_for(doc: Any) -> BusinessCalendar:
    """The calendar of a calendar document, built once per distinct document (contracts share)."""
    return build_calendar(doc) if isinstance(doc, str) else _calendar(json.dumps(doc, sort_keys=True))


@lru_cache(maxsize=8)
def rulebook(policy_path: str | None = None) -> Rulebook:
    """The policy (the default one, or a file) with the calendar cache."""
    return Rulebook(load_policy(policy_path), calendar_for)


def resolve_stored(request: EntitlementRequest, engine: Engine, rules: Rulebook | None = None) -> Entitlement:
    """Resolve against the database (one connection, a few indexed queries)."""
    with engine.connect() as conn:
        return resolve(request, SqlRegistry(conn), rules or rulebook())


def resolve_in(request: EntitlementRequest, registry: RegistryView, rules: Rulebook | None = None) -> Entitlement:
    """Resolve against any registry view (e.g. a `MemoryRegistry`)."""
    return resolve(request, registry, rules or rulebook())


def _moment(target: DueTarget | None) -> str | None:


    """The due moment as ISO 8601, or None."""
    return target.due.isoformat() if target else None


def _hours(target: DueTarget | None) -> float | int | None:


    """Working hours for JSON: 8 rather than 8.0."""
    if target is None:
        return None
    return int(target.hours) if float(target.hours).is_integer() else target.hours


def as_json(result: Entitlement, zone: Any | None = None) -> dict[str, Any]:
    """The entitlement as the JSON object of `connector entitlement --json` (and, later, the API)."""
    zone = zone or rulebook().vendor_calendar.zone
    contract = result.contract
    return {
        "tier": result.tier.code,
        "at": result.at.astimezone(zone).isoformat(),
        "customer": None if result.customer is None else {
            "id": result.customer.id, "name": result.customer.name, "matched_by": result.matched_by},
        "product": result.product,
        "first_response_hours": _hours(result.first_response),
        "first_response_due": _moment(result.first_response),
        "first_response_basis": result.first_response.basis if result.first_response else None,
        "resolution_hours": _hours(result.resolution),
        "resolution_due": _moment(result.resolution),
        "resolution_basis": result.resolution.basis if result.resolution else None,
        "kb_access": result.kb_access,
        "customer_kb_access": None if result.kb is None else {
            "granted": result.kb.granted, "until": result.kb.until.isoformat() if result.kb.until else None,
            "reason": result.kb.reason},
        "valid_until": result.valid_until.isoformat() if result.valid_until else None,
        "contract": contract.contract if contract else None,
        "dedicated_engineer": contract.dedicated_engineer if contract else None,
        "flags": result.flag_codes,
        "flag_details": [{"code": f.code, "explanation": f.explanation} for f in result.flags],
        "reasons": list(result.reasons),
    }


def now() -> datetime:
    """The current moment in the vendor's zone (the CLI's default for --at)."""
    return datetime.now(rulebook().vendor_calendar.zone)
