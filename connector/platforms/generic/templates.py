"""The generic platform's text templates: `{name}` and `{name:format}` placeholders in URL paths,
headers and JSON bodies, `{{` and `}}` for literal braces.

A template is parsed once, when the config loads (so a broken one is a start-up error naming its
key), and rendered per call. In a JSON body a string that is exactly one placeholder takes the
value's JSON type (null, a list of flags); anything else is text. Members whose placeholders are
all write-back values that did not change are left out, so that a call carries only what changed
(see `render_body`).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any
from urllib.parse import quote

# what a write-back can carry; `note` counts as changed when the plan has a note
VALUES = ("tier", "first_response_due", "resolution_due", "flags", "assignee", "note")
MOMENTS = ("first_response_due", "resolution_due")
_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
_NAME = re.compile(r"^(?:[a-z][a-z0-9_]*|(?:credentials|params)\.[A-Za-z0-9_]+)$")


class TemplateError(ValueError):
    """A template that cannot be parsed, or a placeholder that cannot take its format."""


@dataclass(frozen=True)
class Field:
    """One placeholder: a name and an optional format (strftime for moments, a joiner for flags)."""

    name: str
    spec: str | None = None


@dataclass(frozen=True)
class Template:
    """A parsed template: literal text and placeholders, in order."""

    text: str
    parts: tuple[str | Field, ...]

    @classmethod
    def parse(cls, text: str) -> Template:
        """Parse `text`; `TemplateError` for an unbalanced brace or an unreadable placeholder."""
        parts: list[str | Field] = []
        literal, last = [], 0
        for match in _TOKEN.finditer(text):
            literal.append(text[last : match.start()])
            last = match.end()
            token = match.group(0)
            if token in ("{{", "}}"):
                literal.append(token[0])
                continue
            if match.group(1) is None:
                raise TemplateError(
                    f"unbalanced {token!r} at character {match.start() + 1} (write {token * 2} for a literal brace)"
                )
            name, _, spec = match.group(1).partition(":")
            if not _NAME.match(name):
                raise TemplateError(
                    f"{{{match.group(1)}}} is not a placeholder (a name such as {{tier}}, "
                    "{credentials.api_token} or {params.container})"
                )
            if "".join(literal):
                parts.append("".join(literal))
            literal = []
            parts.append(Field(name, spec if ":" in match.group(1) else None))
        literal.append(text[last:])
        if "".join(literal):
            parts.append("".join(literal))
        return cls(text, tuple(parts))

    @property
    def fields(self) -> tuple[Field, ...]:
        """The placeholders."""
        return tuple(p for p in self.parts if isinstance(p, Field))

    @property
    def names(self) -> frozenset[str]:
        """The placeholders' names."""
        return frozenset(f.name for f in self.fields)

    @property
    def exact(self) -> Field | None:
        """The placeholder when the template is nothing else (its value keeps its JSON type)."""
        return self.parts[0] if len(self.parts) == 1 and isinstance(self.parts[0], Field) else None

    def render(self, values: Mapping[str, Any], zone: tzinfo | None = None, in_path: bool = False) -> str:
        """The text with every placeholder replaced (URL-quoted in a path, so that a value can
        never change the path's shape)."""
        out = []
        for part in self.parts:
            if isinstance(part, str):
                out.append(part)
                continue
            text = as_text(values.get(part.name), part.spec, zone)
            out.append(quote(text, safe="") if in_path else text)
        return "".join(out)


def as_text(value: Any, spec: str | None = None, zone: tzinfo | None = None) -> str:
    """A value as text: moments ISO 8601 (or `spec` as strftime, in `zone` when given), flags
    joined with `spec` (default ","), nothing as ""."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        if spec is None:
            return value.isoformat()
        return (value.astimezone(zone) if zone else value).strftime(spec)
    if isinstance(value, (list, tuple, set, frozenset)):
        return (spec if spec is not None else ",").join(str(v) for v in value)
    return str(value)


def as_json(value: Any, spec: str | None, zone: tzinfo | None) -> Any:
    """A value where a JSON member is exactly its placeholder: null, a list of flags, or text."""
    if value is None:
        return None
    if isinstance(value, (list, tuple, set, frozenset)) and spec is None:
        return [str(v) for v in value]
    return as_text(value, spec, zone)


def check_field(field: Field) -> str | None:
    """Why a placeholder's format cannot work (None when it can): moments take a strftime
    format, flags a joiner, nothing else a format."""
    if field.spec is None:
        return None
    if field.name in MOMENTS:
        try:
            datetime(2024, 5, 13, 18, 0).strftime(field.spec)
        except ValueError as exc:
            return f"{{{field.name}:{field.spec}}}: {exc}"
        return None
    if field.name == "flags":
        return None
    return f"{{{field.name}:{field.spec}}}: {field.name} takes no format"


DROP = object()  # a body member left out: it carries only values that did not change


def compile_body(node: Any, where: str = "") -> Any:
    """A JSON body with its strings parsed as templates; `TemplateError` names the member
    (`.input.content: unbalanced '{'`)."""
    if isinstance(node, str):
        try:
            return Template.parse(node)
        except TemplateError as exc:
            raise TemplateError(f"{where}: {exc}") from None
    if isinstance(node, dict):
        return {k: compile_body(v, f"{where}.{k}") for k, v in node.items()}
    if isinstance(node, list):
        return [compile_body(v, f"{where}[{i}]") for i, v in enumerate(node)]
    return node


def body_templates(node: Any, where: str = "") -> list[tuple[str, Template]]:
    """Every template in a compiled body, with the member it is in (`.input.content`)."""
    if isinstance(node, Template):
        return [(where, node)]
    if isinstance(node, dict):
        return [t for k, v in node.items() for t in body_templates(v, f"{where}.{k}")]
    if isinstance(node, list):
        return [t for i, v in enumerate(node) for t in body_templates(v, f"{where}[{i}]")]
    return []


def render_body(node: Any, values: Mapping[str, Any], changed: Collection[str], zone: tzinfo | None) -> Any:
    """The body to send, or DROP when nothing in it changed.

    A string naming write-back values is kept when at least one of them changed; an object or a
    list that held such strings is kept while one of them is; constants (and strings naming only
    the ticket id, params or credentials) stay beside what is kept.
    """
    rendered, kind = _render(node, values, frozenset(changed), zone)
    return rendered if kind == "value" else DROP


def _render(node: Any, values: Mapping[str, Any], changed: frozenset[str], zone: tzinfo | None) -> tuple[Any, str]:
    """(rendered node, kind): kind is "value" (carries a changed value), "const" or "drop"."""
    if isinstance(node, Template):
        carried = node.names & set(VALUES)
        if carried and not carried & changed:
            return None, "drop"
        exact = node.exact
        rendered = as_json(values.get(exact.name), exact.spec, zone) if exact else node.render(values, zone)
        return rendered, "value" if carried else "const"
    if isinstance(node, (dict, list)):
        items = node.items() if isinstance(node, dict) else enumerate(node)
        kept, kinds = [], set()
        for key, child in items:
            rendered, kind = _render(child, values, changed, zone)
            kinds.add(kind)
            if kind != "drop":
                kept.append((key, rendered))
        out: Any = dict(kept) if isinstance(node, dict) else [v for _, v in kept]
        if "value" in kinds:
            return out, "value"
        return (None, "drop") if "drop" in kinds else (out, "const")
    return node, "const"
