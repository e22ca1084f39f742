"""Check a registry document completely before anything is written: the schema, dates, duplicate
keys and references. Every problem names its place (file and JSON pointer, or CSV line and column).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection, Mapping
from datetime import date
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any

from connector.config.calendars import build_calendar
from connector.config.schemas import _registry, validator
from connector.core.errors import ConnectorError
from connector.registry.fastcheck import Unsupported, compile_schema
from connector.registry.records import DATE_FIELDS, KEYS, LISTS, REFERENCES, Key, Record, key_of, to_record
from connector.registry.sources import RegistrySource

if TYPE_CHECKING:
    from jsonschema import ValidationError

SCHEMA = "registry.schema.json"
Progress = Callable[[str], None]


@cache
def _row_checks(name: str) -> tuple[Any, Callable[[Any], bool] | None]:
    """(jsonschema validator, fast predicate or None) for the items of the list `name`."""
    row_schema = {"$ref": f"{SCHEMA}#/$defs/{name[:-1]}"}
    full = validator(SCHEMA).evolve(schema=row_schema)
    try:
        fast = compile_schema(row_schema, _registry(), SCHEMA)
    except Unsupported:
        fast = None
    return full, fast


def _message(error: ValidationError) -> str:
    """jsonschema's message, except for unknown fields, which it words for schema authors."""
    if (
        error.validator != "additionalProperties"
        or not isinstance(error.instance, dict)
        or not isinstance(error.schema, Mapping)
    ):  # (an additionalProperties error's schema is one)
        return error.message
    known = error.schema.get("properties", {})
    patterns = error.schema.get("patternProperties", {})
    extra = [k for k in error.instance if k not in known and not any(re.search(p, k) for p in patterns)]
    return f"unknown field{'s' if len(extra) > 1 else ''} {', '.join(map(repr, extra))} (known: {', '.join(known)})"


def schema_problems(source: RegistrySource, progress: Progress) -> tuple[list[str], dict[str, set[int]]]:
    """Schema problems, and per list the indexes of the items that failed (skipped later)."""
    doc, problems = source.document, []
    bad: dict[str, set[int]] = {}
    shallow = {k: [] if isinstance(v, list) else v for k, v in doc.items()} if isinstance(doc, dict) else doc
    problems += [f"{source.place(e.path)}: {_message(e)}" for e in validator(SCHEMA).iter_errors(shallow)]
    if not isinstance(doc, dict):
        return problems, bad
    for name in LISTS:
        items = doc.get(name)
        if not isinstance(items, list):
            continue
        full, fast = _row_checks(name)
        bad[name] = set()
        for index, item in enumerate(items):
            if fast is not None and fast(item):
                continue
            errors = sorted(full.iter_errors(item), key=lambda e: [str(p) for p in e.path])
            if errors:
                bad[name].add(index)
                problems += [f"{source.place((name, index, *e.path))}: {_message(e)}" for e in errors]
        if len(items) >= 10000:
            progress(f"checked {len(items):,} {name}")
    return problems, bad


def _date_problems(source: RegistrySource, name: str, index: int, item: Mapping[str, Any]) -> list[str]:
    """Dates that are not calendar dates, and contracts ending before they start."""
    found = []
    for field in DATE_FIELDS.get(name, ()):
        if field in item:
            try:
                date.fromisoformat(item[field])
            except ValueError:
                found.append(f"{source.place((name, index, field))}: {item[field]!r} is not a valid date")
    if not found and name == "contracts" and item["starts"] > item["ends"]:
        found.append(
            f"{source.place((name, index, 'ends'))}: ends ({item['ends']}) before it starts ({item['starts']})"
        )
    return found


def _calendar_problem(source: RegistrySource, index: int, item: Mapping[str, Any]) -> list[str]:
    """An inline contract calendar must build (a known time zone, sane hours)."""
    doc = item["sla"].get("calendar")
    if not isinstance(doc, dict):
        return []
    try:
        _built(json.dumps(doc, sort_keys=True))
    except ConnectorError as exc:
        return [f"{source.place(('contracts', index, 'sla', 'calendar'))}: {exc}"]
    return []


@lru_cache(maxsize=256)
def _built(doc_json: str) -> None:
    """Build a calendar once per distinct document (raises ConnectorError)."""
    build_calendar(json.loads(doc_json))


def check_registry(
    source: RegistrySource,
    stored_keys: Mapping[str, Collection[Key]],
    replace: bool,
    progress: Progress = lambda _m: None,
) -> tuple[list[str], dict[str, list[Record]]]:
    """Every problem of the document, and (when there are none) its records per list.

    `stored_keys` are the keys already in the database; references may point at them unless
    `replace` (then the file alone is the registry).
    """
    problems = list(source.problems)
    if source.document is None:
        return problems, {}
    more, bad = schema_problems(source, progress)
    problems += more
    doc = source.document
    if not isinstance(doc, dict):
        return problems, {}
    if replace:
        absent = [name for name in LISTS if name not in doc]
        if absent:
            problems.append(f"{source.origin}: --replace needs every list; missing: {', '.join(absent)}")
    records: dict[str, list[Record]] = {}
    keys: dict[str, dict[Key, int]] = {}
    for name in LISTS:
        if not isinstance(doc.get(name), list):
            continue
        records[name], keys[name] = [], {}
        for index, item in enumerate(doc[name]):
            if index in bad.get(name, ()):
                continue
            found = _date_problems(source, name, index, item)
            if name == "contracts" and not found:
                found = _calendar_problem(source, index, item)
            if found:
                problems += found
                continue
            record = to_record(name, item)
            key = key_of(name, record)
            if key in keys[name]:
                first = source.place((name, keys[name][key]))
                problems.append(
                    f"{source.place((name, index))}: duplicate key"
                    f" {', '.join(KEYS[name])} = {', '.join(map(str, key))} (first at {first})"
                )
                continue
            keys[name][key] = index
            records[name].append(record)
    problems += _platform_id_problems(source, records)
    problems += _reference_problems(source, records, keys, stored_keys, replace)
    return problems, records


def _platform_id_problems(source: RegistrySource, records: Mapping[str, list[Record]]) -> list[str]:
    """An organisation id on a platform names one customer (a domain may name several)."""
    seen: dict[tuple[str, str], str] = {}
    found = []
    for record in records.get("customers", ()):
        for platform, org in record["platform_ids"]:
            if (platform, org) in seen:
                found.append(
                    f"{source.origin}: customers {seen[platform, org]} and {record['id']} both have"
                    f" organisation {org} on {platform}"
                )
            seen.setdefault((platform, org), record["id"])
    return found


def _reference_problems(
    source: RegistrySource,
    records: Mapping[str, list[Record]],
    keys: Mapping[str, dict[Key, int]],
    stored_keys: Mapping[str, Collection[Key]],
    replace: bool,
) -> list[str]:
    """Every customer and product a row names must exist (in the file, or stored unless replace)."""
    doc = source.document
    found = []

    def known(target: str, value: str) -> bool:
        return (value,) in keys.get(target, {}) or (not replace and (value,) in stored_keys.get(target, ()))

    for (name, field), target in REFERENCES.items():
        for index, item in enumerate(doc.get(name, []) if isinstance(doc.get(name), list) else []):
            value = item.get(field) if isinstance(item, dict) else None
            if isinstance(value, str) and not known(target, value):
                found.append(f"{source.place((name, index, field))}: unknown {target[:-1]} {value!r}")
    for index, item in enumerate(doc.get("contracts", []) if isinstance(doc.get("contracts"), list) else []):
        codes = item.get("products") if isinstance(item, dict) else None
        if isinstance(codes, list):
            for n, code in enumerate(codes):
                if isinstance(code, str) and not known("products", code):
                    found.append(f"{source.place(('contracts', index, 'products', n))}: unknown product {code!r}")
    return found
