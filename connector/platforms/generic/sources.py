"""Where the generic platform finds a fact: a JSON Pointer (RFC 6901) into a webhook body, a
header, or the answer of one of the configured API reads, optionally the first (or every) item
of a list that matches a few values.

JSON Pointers are parsed by `jsonpointer` (the RFC 6901 implementation jsonpatch is built on):
its syntax check (a leading `/`, `~0`/`~1` escapes) runs when the config loads, and its
resolution handles escapes and list indexes the same way on every tracker.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any

from jsonpointer import JsonPointer, JsonPointerException

from connector.core.events import Delivery

_READ_REF = re.compile(r"^([a-z][a-z0-9_]*)(/.*)?$")
HEADER = "header:"
MISSING = object()
ZERO_DATES = ("0000-00-00 00:00:00", "0000-00-00")  # MySQL's "no date" (GLPI)


class SourceError(ValueError):
    """A source that does not parse (the message says why)."""


def pointer(text: str) -> JsonPointer:
    """A parsed JSON Pointer; `SourceError` when it is not one."""
    if not isinstance(text, str):
        raise SourceError(f"{text!r} is not a JSON Pointer (a string such as /ticket/id)")
    try:
        return JsonPointer(text)
    except JsonPointerException as exc:
        raise SourceError(f"{text!r} is not a JSON Pointer: {exc}") from None


def resolve(document: Any, ptr: JsonPointer) -> Any:
    """What `ptr` points at in `document`, or MISSING."""
    try:
        return ptr.resolve(document, MISSING)
    except (JsonPointerException, TypeError, IndexError, KeyError):
        return MISSING


@dataclass(frozen=True)
class BodySource:
    """A value of a webhook delivery: a JSON Pointer into its body, or one of its headers."""

    text: str
    ptr: JsonPointer | None = None
    header: str | None = None

    @classmethod
    def parse(cls, text: str) -> BodySource:
        """`/json/pointer` or `header:Name`."""
        if isinstance(text, str) and text.lower().startswith(HEADER):
            name = text[len(HEADER) :].strip()
            if not re.fullmatch(r"[A-Za-z0-9-]+", name):
                raise SourceError(f"{text!r}: a header name is letters, digits and '-'")
            return cls(text, header=name.lower())
        return cls(text, ptr=pointer(text))

    def value(self, delivery: Delivery, payload: Any) -> Any:
        """The value in this delivery; None when it is absent."""
        if self.header is not None:
            return delivery.header(self.header)
        found = resolve(payload, self.ptr)  # type: ignore[arg-type]
        return None if found is MISSING else found


@dataclass(frozen=True)
class ReadRef:
    """A place in the answer of a named read: `ticket/created_at` is /created_at of read `ticket`."""

    text: str
    read: str
    ptr: JsonPointer

    @classmethod
    def parse(cls, text: str) -> ReadRef:
        """`<read name><JSON Pointer>`, e.g. `ticket/customer_id`, or a read name alone."""
        match = _READ_REF.match(text) if isinstance(text, str) else None
        if not match:
            raise SourceError(f"{text!r} is not <read name><JSON Pointer> (such as ticket/created_at)")
        try:
            return cls(text, match.group(1), pointer(match.group(2) or ""))
        except SourceError as exc:
            raise SourceError(f"{text!r}: {exc}") from None

    def resolve(self, answers: Mapping[str, Any]) -> Any:
        """The value in the answers, or MISSING (also when the read was skipped)."""
        if answers.get(self.read) is None:
            return MISSING
        return resolve(answers[self.read], self.ptr)


@dataclass(frozen=True)
class Selector:
    """A fact in the reads' answers: a `ReadRef`, or the first item of the list it points at
    whose `where` pointers hold the given values, then `value` inside that item."""

    ref: ReadRef
    where: tuple[tuple[JsonPointer, str], ...] = ()
    value: JsonPointer | None = None
    listed: bool = False  # the table form: `ref` points at a list

    @classmethod
    def parse(cls, spec: Any) -> Selector:
        """A string (a ReadRef) or a table {from, where, value}."""
        if isinstance(spec, str):
            return cls(ReadRef.parse(spec))
        if not isinstance(spec, Mapping) or "from" not in spec:
            raise SourceError("give <read name><JSON Pointer>, or a table with from, where and value")
        unknown = sorted(set(spec) - {"from", "where", "value"})
        if unknown:
            raise SourceError(f"unknown key(s) {', '.join(unknown)} (a selector has from, where and value)")
        where_doc = spec.get("where") or {}
        if not isinstance(where_doc, Mapping) or any(
            isinstance(v, (dict, list)) or v is None for v in where_doc.values()
        ):
            raise SourceError("where maps JSON Pointers to plain values (text, numbers, true/false)")
        where = tuple((pointer(k), text(v)) for k, v in where_doc.items())
        value = pointer(spec["value"]) if "value" in spec else None
        return cls(ReadRef.parse(spec["from"]), where, value, listed=True)

    @property
    def reads(self) -> frozenset[str]:
        """The read this selector needs."""
        return frozenset({self.ref.read})

    def items(self, answers: Mapping[str, Any]) -> list[Any]:
        """Every item of the list that matches `where` (table form)."""
        found = self.ref.resolve(answers)
        if not isinstance(found, list):
            return []
        return [i for i in found if all(text(resolve(i, p)) == want for p, want in self.where)]

    def first(self, answers: Mapping[str, Any]) -> Any:
        """The fact, or None when it is absent."""
        if not self.listed:
            found = self.ref.resolve(answers)
            return None if found is MISSING else found
        for item in self.items(answers):
            found = item if self.value is None else resolve(item, self.value)
            return None if found is MISSING else found
        return None


def text(value: Any) -> str:
    """A JSON scalar as text, the way `where` compares and maps compare (1 and "1" are equal;
    true is "true"); None and MISSING are ""."""
    if value is None or value is MISSING:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def clean(value: Any) -> str | None:
    """A scalar fact as stripped text; None when empty or not a scalar."""
    if value is None or isinstance(value, (dict, list)):
        return None
    value = text(value).strip()
    return value or None


class NaiveMoment(ValueError):
    """A tracker time without an offset, and no `time_zone` to read it in."""


def moment(value: Any, zone: tzinfo | None) -> datetime | None:
    """A tracker time as an aware moment: ISO 8601 (with `T` or a space; without an offset it
    is in `zone`), or Unix seconds; None for empty and MySQL zero dates. `ValueError` when
    unreadable."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or isinstance(value, (dict, list)):
        raise ValueError(f"{value!r} is not a time")
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, tz=UTC)
    value = str(value).strip()
    if not value or value in ZERO_DATES:
        return None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00") if value.endswith("Z") else value)
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        if zone is None:
            raise NaiveMoment(f"{value!r} has no UTC offset: set options.time_zone to the tracker's zone")
        parsed = parsed.replace(tzinfo=zone)
    return parsed
