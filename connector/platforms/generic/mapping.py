"""A generic tracker's mapping, built once from `[platforms.<name>]`: the preset merged with the
admin's options, every pointer, reference and template parsed and cross-checked. Whatever is
wrong is listed, each problem naming its key (`platforms.generic.options.write[0].body.sla_tier:
unknown value {teir}`), so that a misconfigured mapping stops the connector at start-up.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jsonpointer import JsonPointer
from jsonschema import Draft202012Validator

from connector.config.settings import PlatformSettings
from connector.core.errors import ValidationFailed
from connector.core.ticket import TicketStatus
from connector.platforms.generic import presets
from connector.platforms.generic.schema import OPTIONS, relaxed
from connector.platforms.generic.signature import Scheme
from connector.platforms.generic.sources import BodySource, Selector, SourceError, pointer, text
from connector.platforms.generic.templates import (
    VALUES,
    Template,
    TemplateError,
    body_templates,
    check_field,
    compile_body,
)


@dataclass(frozen=True)
class Read:
    """One API read of a ticket: a GET path, and the earlier reads' values it names."""

    name: str
    path: Template
    needs: Mapping[str, Selector] = field(default_factory=dict)


@dataclass(frozen=True)
class Call:
    """One write-back call: method, path template, compiled JSON body template."""

    method: str
    path: Template
    body: Any


@dataclass(frozen=True)
class Session:
    """A login call whose answer carries the token later calls send as {session}."""

    method: str
    path: Template
    headers: Mapping[str, Template]
    token: JsonPointer


@dataclass(frozen=True)
class History:
    """The ticket's status changes: the items of a listed answer, when and to what."""

    items: Selector
    at: JsonPointer
    status: JsonPointer


@dataclass(frozen=True)
class TrackerMapping:
    """Everything the generic adapter needs, checked."""

    name: str
    scheme: Scheme
    ticket_id: BodySource
    kind: BodySource | None
    kinds: Mapping[str, str]
    delivery_id: BodySource | None
    occurred_at: BodySource | None
    headers: Mapping[str, Template]
    basic: tuple[Template, Template] | None
    session: Session | None
    timeout: float
    reads: tuple[Read, ...]
    facts: Mapping[str, Selector]
    values: Mapping[str, Mapping[str, str]]
    statuses: Mapping[str, TicketStatus]
    status_since: Mapping[TicketStatus, Selector]
    history: History | None
    carried: Mapping[str, Selector]
    writes: tuple[Call, ...]
    zone: ZoneInfo | None
    params: Mapping[str, str]
    preset: str | None = None

    def key(self, path: str) -> str:
        """The config key of an option, for messages."""
        return f"platforms.{self.name}.options.{path}"


class _Problems:
    """Collects problems, each under its key; `parse` turns a parser's error into one."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.found: list[str] = []

    def add(self, key: str, message: str) -> None:
        """Record a problem of `key` (under platforms.<name>.)."""
        self.found.append(f"platforms.{self.name}.{key}: {message}")

    def parse(self, key: str, parser: Callable[[Any], Any], value: Any) -> Any:
        """`parser(value)`, or None with its error recorded under `key`."""
        try:
            return parser(value)
        except (SourceError, TemplateError, ValueError, TypeError, KeyError) as exc:
            self.add(key, str(exc))
            return None


def build(settings: PlatformSettings) -> tuple[TrackerMapping | None, list[str]]:
    """The mapping of `settings`, or None with every problem."""
    problems = _Problems(settings.name)
    options = dict(settings.options or {})
    _schema_problems(problems, relaxed(OPTIONS), options)
    if problems.found:
        return None, problems.found
    preset = options.pop("preset", None)
    doc = presets.merged(presets.PRESETS.get(preset or ""), options)
    _schema_problems(problems, OPTIONS, doc)  # what the preset and the admin left out together
    if problems.found:
        return None, problems.found
    for key, why in presets.REQUIRED.get(preset or "", {}).items():
        if key not in doc:
            problems.add(f"options.{key}", why)
    if not settings.base_url:
        problems.add("base_url", "the tracker's API base URL is required (the webhook only notifies; the API is read)")
    built = _Builder(settings, doc, problems).mapping(preset)
    return (None if problems.found else built), problems.found


def _schema_problems(problems: _Problems, schema: Mapping[str, Any], doc: Mapping[str, Any]) -> None:
    """Every way `doc` breaks `schema`, under its key."""
    for error in sorted(Draft202012Validator(schema).iter_errors(doc), key=lambda e: list(map(str, e.path))):
        problems.add(".".join(["options", *map(str, error.path)]), error.message)


def load(settings: PlatformSettings) -> TrackerMapping:
    """The mapping, or `ValidationFailed` listing every problem."""
    mapping, found = build(settings)
    if mapping is None:
        raise ValidationFailed(f"platforms.{settings.name} is misconfigured ({len(found)} problem(s))", found)
    return mapping


class _Builder:
    """Parses the merged options; a part that fails leaves a problem and a None."""

    def __init__(self, settings: PlatformSettings, doc: Mapping[str, Any], problems: _Problems) -> None:
        self.settings, self.doc, self.p = settings, doc, problems
        self.params = {k: text(v) for k, v in (doc.get("params") or {}).items()}
        self.credentials = set(settings.credentials)

    def required(self, key: str) -> Any:
        """The merged option at a dotted `key`; a problem when neither preset nor admin gave it."""
        value: Any = self.doc
        for part in key.split("."):
            value = value.get(part) if isinstance(value, Mapping) else None
        if value is None:
            self.p.add(f"options.{key}", "required (no preset gives it)")
        return value

    def mapping(self, preset: str | None) -> TrackerMapping | None:
        """The whole mapping, or None when any part has a problem."""
        doc = self.doc
        zone = self._zone()
        scheme = self._scheme()
        event = doc.get("event") or {}
        ticket_id = self.required("event.ticket_id")
        sources = {
            k: self.p.parse(f"options.event.{k}", BodySource.parse, event[k])
            for k in ("ticket_id", "kind", "delivery_id", "occurred_at")
            if k in event
        }
        api = doc.get("api") or {}
        session = self._session(api.get("session"))
        headers = {
            k: self._template(f"options.api.headers.{k}", v, "header", session=session is not None)
            for k, v in (api.get("headers") or {}).items()
        }
        basic = api.get("basic")
        basic_t = (
            (
                self._template("options.api.basic.username", basic["username"], "header"),
                self._template("options.api.basic.password", basic["password"], "header"),
            )
            if basic
            else None
        )
        read_doc = self.required("read")
        reads = self._reads(read_doc) if read_doc is not None else []
        names = [r.name for r in reads]
        facts = {k: self._selector(f"options.facts.{k}", v, names) for k, v in (doc.get("facts") or {}).items()}
        self.required("facts.created_at")
        carried = {k: self._selector(f"options.carried.{k}", v, names) for k, v in (doc.get("carried") or {}).items()}
        since = {
            TicketStatus(k): self._selector(f"options.status_since.{k}", v, names)
            for k, v in (doc.get("status_since") or {}).items()
        }
        history = self._history(doc.get("status_history"), names)
        writes = self._writes(self.required("write") or [], carried)
        if self.p.found:
            return None
        return TrackerMapping(
            self.settings.name,
            scheme,  # type: ignore[arg-type]
            sources.get("ticket_id") if ticket_id else None,  # type: ignore[arg-type]
            sources.get("kind"),
            dict(event.get("kinds") or {}),
            sources.get("delivery_id"),
            sources.get("occurred_at"),
            headers,  # type: ignore[arg-type]
            basic_t,  # type: ignore[arg-type]
            session,
            float(api.get("timeout_seconds", 10)),
            tuple(reads),
            facts,  # type: ignore[arg-type]
            {k: dict(v) for k, v in (doc.get("values") or {}).items()},
            {k: TicketStatus(v) for k, v in (doc.get("statuses") or {}).items()},
            since,  # type: ignore[arg-type]
            history,
            carried,  # type: ignore[arg-type]
            tuple(writes),
            zone,
            self.params,
            preset,
        )

    def _zone(self) -> ZoneInfo | None:
        """options.time_zone as a zone."""
        name = self.doc.get("time_zone")
        if name is None:
            return None
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            self.p.add("options.time_zone", f"{name!r} is not an IANA time zone (such as Europe/Moscow)")
            return None

    def _scheme(self) -> Scheme | None:
        """options.signature, with what its parts need of each other."""
        doc = self.required("signature")
        if not doc:
            return None
        key = "options.signature"
        kind = doc["scheme"]
        if kind in ("hmac", "header-token") and not doc.get("header"):
            self.p.add(f"{key}.header", f"the {kind} scheme needs the header it is in")
        if doc.get("tolerance_seconds") is not None and not doc.get("timestamp_header"):
            self.p.add(f"{key}.tolerance_seconds", "a tolerance needs timestamp_header")
        signed = self.p.parse(f"{key}.signed", Template.parse, doc.get("signed", "{body}"))
        if signed is not None:
            names = [f.name for f in signed.fields]
            if names.count("body") != 1 or set(names) - {"body", "timestamp"} or any(f.spec for f in signed.fields):
                self.p.add(
                    f"{key}.signed",
                    "sign {body} once, with {timestamp} and literal text if the tracker "
                    "signs them (no other placeholders, no formats)",
                )
            if "timestamp" in names and not doc.get("timestamp_header"):
                self.p.add(f"{key}.signed", "{timestamp} needs timestamp_header")
        return self.p.parse(key, Scheme.from_options, doc)

    def _template(
        self, key: str, value: Any, place: str, allowed: frozenset[str] = frozenset(), session: bool = False
    ) -> Template | None:
        """A template whose placeholders may be `allowed` names, params, and (outside paths)
        configured credentials."""
        template = self.p.parse(key, Template.parse, value)
        if template is None:
            return None
        for f in template.fields:
            problem = check_field(f)
            if problem:
                self.p.add(key, problem)
            elif f.name.startswith("params."):
                if f.name[7:] not in self.params:
                    self.p.add(key, f"{{{f.name}}} needs options.params.{f.name[7:]}")
            elif f.name.startswith("credentials."):
                if place == "path":
                    self.p.add(
                        key,
                        f"{{{f.name}}}: credentials go in api.headers or api.basic, never in a URL (URLs are logged)",
                    )
                elif f.name[12:] not in self.credentials:
                    self.p.add(
                        key,
                        f"{{{f.name}}} needs platforms.{self.settings.name}.credentials.{f.name[12:]} "
                        "(or _env / _file)",
                    )
            elif f.name == "session" and session:
                continue
            elif f.name not in allowed:
                known = sorted(allowed | {"params.NAME"} | ({"credentials.NAME"} if place != "path" else set()))
                self.p.add(key, f"unknown value {{{f.name}}} (known here: {', '.join('{' + k + '}' for k in known)})")
        return template

    def _session(self, doc: Mapping[str, Any] | None) -> Session | None:
        """options.api.session (a login call), if any."""
        if not doc:
            return None
        key = "options.api.session"
        path = self._template(f"{key}.path", doc["path"], "path")
        headers = {k: self._template(f"{key}.headers.{k}", v, "header") for k, v in (doc.get("headers") or {}).items()}
        token = self.p.parse(f"{key}.token", pointer, doc["token"])
        return Session(doc["method"], path, headers, token)  # type: ignore[arg-type]

    def _reads(self, doc: Mapping[str, Any]) -> list[Read]:
        """options.read, in order: a read may use only the reads before it."""
        reads: list[Read] = []
        if isinstance(doc, Mapping) and not doc:
            self.p.add("options.read", "at least one read is needed (the ticket itself)")
        for name, spec in doc.items():
            key = f"options.read.{name}"
            needs = {
                k: self._selector(f"{key}.with.{k}", v, [r.name for r in reads])
                for k, v in (spec.get("with") or {}).items()
            }
            path = self._template(f"{key}.path", spec["path"], "path", frozenset({"ticket_id", *needs}))
            reads.append(Read(name, path, needs))  # type: ignore[arg-type]
        return reads

    def _selector(self, key: str, spec: Any, reads: list[str]) -> Selector | None:
        """A selector into one of `reads`."""
        selector = self.p.parse(key, Selector.parse, spec)
        if selector is not None and selector.ref.read not in reads:
            self.p.add(key, f"no read named {selector.ref.read!r} before it (reads: {', '.join(reads) or 'none'})")
        return selector

    def _history(self, doc: Mapping[str, Any] | None, reads: list[str]) -> History | None:
        """options.status_history, if any."""
        if not doc:
            return None
        key = "options.status_history"
        items = self._selector(key, {"from": doc["from"], "where": doc.get("where") or {}}, reads)
        at = self.p.parse(f"{key}.at", pointer, doc["at"])
        status = self.p.parse(f"{key}.status", pointer, doc["status"])
        return History(items, at, status)  # type: ignore[arg-type]

    def _writes(self, doc: list[Mapping[str, Any]], carried: Mapping[str, Any]) -> list[Call]:
        """options.write; each value written must be read back (`carried`), else every event
        would write it again."""
        calls, written = [], set()
        for i, spec in enumerate(doc):
            key = f"options.write[{i}]"
            path = self._template(f"{key}.path", spec["path"], "path", frozenset({"ticket_id"}))
            try:
                body = compile_body(spec["body"])
            except TemplateError as exc:
                self.p.found.append(f"platforms.{self.settings.name}.{key}.body{exc}")
                continue
            names: set[str] = set()
            for member, template in body_templates(body):
                checked = self._template(
                    f"{key}.body{member}", template.text, "body", frozenset({"ticket_id", *VALUES})
                )
                names |= checked.names if checked else set()
            if not names & set(VALUES):
                self.p.add(
                    f"{key}.body", f"names none of {', '.join('{' + v + '}' for v in VALUES)}: it would never be sent"
                )
            written |= names & set(VALUES)
            calls.append(Call(spec["method"], path, body))  # type: ignore[arg-type]
        for value in sorted(written - {"note"} - set(carried)):
            self.p.add(
                f"options.carried.{value}",
                f"the write-back writes {{{value}}} but nothing says where to "
                "read it back: every event would write it again",
            )
        if "note" in written and "tier" not in carried:
            self.p.add(
                "options.carried.tier",
                "the write-back writes {note}, which is written when the tier is "
                "first set or changes: say where the tier is read back",
            )
        return calls
