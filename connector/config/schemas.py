"""Load the JSON Schemas shipped in `schemas/` and validate documents against them.

jsonschema and referencing are loaded on the first validation, not on import: `connector --help`
and `connector due` on a built-in calendar validate nothing and start without them (about a
tenth of a second)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from connector.core.errors import ConnectorError, ValidationFailed

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

    from jsonschema import Draft202012Validator
    from referencing import Registry


def _schema_dir() -> Traversable:
    return resources.files("connector") / "schemas"


@cache
def _registry() -> Registry:
    """All shipped schemas, addressable by file name, so schemas can `$ref` each other."""
    from referencing import Registry, Resource  # on first use: see the module docstring

    registry = Registry()
    for entry in _schema_dir().iterdir():
        if entry.name.endswith(".json"):
            resource = Resource.from_contents(json.loads(entry.read_text(encoding="utf-8")))
            registry = registry.with_resource(entry.name, resource)
    return registry


@cache
def validator(name: str) -> Draft202012Validator:
    """The validator for `schemas/<name>` (e.g. "policy.schema.json", or a part of one:
    "calendar.schema.json#/$defs/calendar")."""
    from jsonschema import Draft202012Validator  # on first use: see the module docstring

    schema = {"$ref": name} if "#" in name else _registry()[name].contents
    return Draft202012Validator(schema, registry=_registry())


def require(name: str, what: str) -> None:
    """Fail (at start-up) unless `schemas/<name>` ships and is a valid schema."""
    if name not in {entry.name for entry in _schema_dir().iterdir()}:
        raise ConnectorError(f"{what}: schemas/{name} is missing from the installation")
    validator(name).check_schema(_registry()[name].contents)


def pointer(path: Iterable[object]) -> str:
    """A JSON Pointer for a jsonschema error path."""
    return "/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in path)


def problems(name: str, document: Any) -> list[str]:
    """Every schema violation of `document`, each naming its JSON Pointer, in document order."""
    errors = sorted(validator(name).iter_errors(document), key=lambda e: [str(p) for p in e.path])
    return [f"{pointer(e.path)}: {e.message}" for e in errors]


def validate(name: str, document: Any, what: str) -> None:
    """Raise ValidationFailed listing every problem if `document` does not match `schemas/<name>`."""
    found = problems(name, document)
    if found:
        raise ValidationFailed(f"{what} is invalid ({len(found)} problem(s))", found)
