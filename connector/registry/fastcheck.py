"""A fast "certainly valid" test for registry rows, compiled from the JSON Schema itself.

jsonschema needs ~80 microseconds per row; an import of 300,000 rows would spend half a minute
there. For the flat row schemas we compile a plain predicate from the same schema text. It only
ever says "valid" when the schema would: any keyword it does not know makes the compile give up
(the caller then uses jsonschema for every row), and a row it rejects goes to jsonschema, which
gives the messages. So the schema stays the one source of truth.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from referencing import Registry

Predicate = Callable[[Any], bool]
_IGNORED = {"description", "title", "default", "$comment", "format", "examples"}
_TYPES: dict[str, Callable[[Any], bool]] = {
    "string": lambda v: isinstance(v, str),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
}


class Unsupported(Exception):
    """The schema uses a keyword this compiler does not handle."""


def compile_schema(schema: dict[str, Any], registry: Registry, base: str) -> Predicate:
    """A predicate that is True only for instances valid under `schema` (a sound under-approximation)."""
    checks: list[Predicate] = []
    for keyword, value in schema.items():
        if keyword in _IGNORED:
            continue
        checks.append(_keyword(keyword, value, schema, registry, base))
    return lambda v: all(check(v) for check in checks)


def _keyword(keyword: str, value: Any, schema: dict[str, Any], registry: Registry, base: str) -> Predicate:
    """The predicate of one schema keyword."""
    if keyword == "$ref":
        target, _, fragment = value.partition("#")
        uri = target or base
        resolved = registry.resolver(uri).lookup(f"{uri}#{fragment}").contents
        return compile_schema(resolved, registry, uri)
    if keyword == "type":
        kinds = [value] if isinstance(value, str) else value
        if any(k not in _TYPES for k in kinds):
            raise Unsupported(keyword)
        tests = [_TYPES[k] for k in kinds]
        return lambda v: any(test(v) for test in tests)
    if keyword == "enum":
        return lambda v: any(v == e and type(v) is type(e) for e in value)
    if keyword == "const":
        return lambda v: v == value and type(v) is type(value)
    if keyword == "pattern":
        rx = re.compile(value)
        return lambda v: not isinstance(v, str) or rx.search(v) is not None
    if keyword in ("minLength", "maxLength"):
        fits: Callable[[int], bool] = (lambda n: n >= value) if keyword == "minLength" else (lambda n: n <= value)
        return lambda v: not isinstance(v, str) or fits(len(v))
    if keyword == "exclusiveMinimum":
        return lambda v: isinstance(v, bool) or not isinstance(v, (int, float)) or v > value
    if keyword == "required":
        return lambda v: not isinstance(v, dict) or all(k in v for k in value)
    if keyword in ("properties", "patternProperties", "additionalProperties"):
        return (
            _object_members(schema, registry, base)
            if keyword == "properties" or not schema.get("properties")
            else (lambda v: True)
        )  # handled once, with "properties"
    if keyword == "items":
        item = compile_schema(value, registry, base)
        return lambda v: not isinstance(v, list) or all(item(x) for x in v)
    if keyword == "uniqueItems" and value:
        return lambda v: not isinstance(v, list) or _unique(v)
    if keyword == "minItems":
        return lambda v: not isinstance(v, list) or len(v) >= value
    if keyword == "minProperties":
        return lambda v: not isinstance(v, dict) or len(v) >= value
    raise Unsupported(keyword)


def _unique(values: list[Any]) -> bool:
    """Whether a list of strings has no repeats."""
    try:
        return all(isinstance(x, str) for x in values) and len(set(values)) == len(values)
    except TypeError:
        return False


def _object_members(schema: dict[str, Any], registry: Registry, base: str) -> Predicate:
    """properties + patternProperties + additionalProperties, as JSON Schema combines them."""
    named = {k: compile_schema(s, registry, base) for k, s in schema.get("properties", {}).items()}
    patterns = [
        (re.compile(p), compile_schema(s, registry, base)) for p, s in schema.get("patternProperties", {}).items()
    ]
    extra = schema.get("additionalProperties", True)
    other: Predicate | None = (
        None if extra is False else (lambda v: True) if extra is True else compile_schema(extra, registry, base)
    )

    def members_ok(v: Any) -> bool:
        if not isinstance(v, dict):
            return True
        for key, member in v.items():
            if key in named:
                if not named[key](member):
                    return False
                continue
            matched = [check for rx, check in patterns if rx.search(key)]
            if matched:
                if not all(check(member) for check in matched):
                    return False
            elif other is None or not other(member):
                return False
        return True

    return members_ok
