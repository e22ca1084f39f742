"""The rules a running connector resolves with: the policy (the default one or the config's file)
and a cache of the calendars its tiers and contracts count on."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from connector.config.calendars import build_calendar
from connector.config.policies import load_policy
from connector.core.calendar import BusinessCalendar
from connector.core.entitlement import Rulebook


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
