"""The connector's one TOML config file, validated by `schemas/config.schema.json`.

Secrets are given by value (`key`), by environment variable (`key_env`) or by file (`key_file`),
so none need be in the file itself; resolved values are never logged.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from jsonschema import Draft202012Validator

from connector.config.documents import read_document
from connector.config.schemas import validate
from connector.core.errors import BadInput, ValidationFailed

SERVER_DEFAULTS: Mapping[str, Any] = {"host": "127.0.0.1", "port": 8080, "threads": 8, "max_body_bytes": 1 << 20}
ACCESS_DEFAULTS: Mapping[str, Any] = {"kb": True, "register_portal_users": True, "dry_run": False, "sync_at": "03:00"}
ALERT_DEFAULTS: Mapping[str, Any] = {
    "enabled": True,
    "every_seconds": 60.0,
    "points": ({"at": 0.75, "action": "note"}, {"at": 1.0, "action": "note"}),
}
ADMIN_DEFAULTS: Mapping[str, Any] = {"token": None, "session_hours": 12.0}
DEFAULT_DATABASE = "sqlite:///connector.db in the current directory"  # storage's own default
T = TypeVar("T")
WORKER_DEFAULTS: Mapping[str, Any] = {
    "threads": 2,
    "lease_seconds": 60.0,
    "poll_seconds": 0.5,
    "retry_window_seconds": 3600.0,
    "backoff_base_seconds": 2.0,
    "backoff_cap_seconds": 300.0,
    "platform_timeout_seconds": 10.0,
}
EVENT_DEFAULTS: Mapping[str, Any] = {"keep_days": 30.0, "prune_every_seconds": 3600.0, "prune_batch": 1000}


@dataclass(frozen=True)
class PlatformSettings:
    """One platform's section of the config file, secrets already resolved."""

    name: str
    base_url: str = ""
    webhook_secret: str = ""
    credentials: Mapping[str, str] = field(default_factory=dict)
    fields: Mapping[str, str] = field(default_factory=dict)  # our field -> the platform's field id
    tag_prefix: str = "sla_"
    dry_run: bool = False
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Config:
    """Everything `connector serve` and `connector worker` need, secrets resolved."""

    database_url: str | None = None
    policy: str | None = None
    server: Mapping[str, Any] = field(default_factory=lambda: dict(SERVER_DEFAULTS))
    worker: Mapping[str, Any] = field(default_factory=lambda: dict(WORKER_DEFAULTS))
    platforms: Mapping[str, PlatformSettings] = field(default_factory=dict)
    source: str = "defaults"
    access: Mapping[str, Any] = field(default_factory=lambda: dict(ACCESS_DEFAULTS))
    alerts: Mapping[str, Any] = field(default_factory=lambda: dict(ALERT_DEFAULTS))
    admin: Mapping[str, Any] = field(default_factory=lambda: dict(ADMIN_DEFAULTS))  # token: None = no status page
    events: Mapping[str, Any] = field(default_factory=lambda: dict(EVENT_DEFAULTS))


def secret(section: Mapping[str, Any], key: str, where: str, base: Path, default: str | None = None) -> str | None:
    """`key`, `key_env` or `key_file` of a section; None when none is given. `default` is what
    applies without it (named when the variable is not set)."""
    given = [k for k in (key, f"{key}_env", f"{key}_file") if k in section]
    if len(given) > 1:
        raise BadInput(f"give only one of {', '.join(given)}", f"{where}.{key}")
    if key in section:
        return str(section[key])
    if f"{key}_env" in section:
        name = section[f"{key}_env"]
        if name not in os.environ:
            fallback = f" (without {key}_env the default would be {default})" if default else ""
            raise BadInput(f"environment variable {name} is not set{fallback}", f"{where}.{key}_env")
        return os.environ[name]
    if f"{key}_file" in section:
        path = base / Path(section[f"{key}_file"]).expanduser()
        try:
            return path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise BadInput(f"cannot read secret file {path}: {exc.strerror}", f"{where}.{key}_file") from None
        except UnicodeDecodeError as exc:  # never show the bytes: they are (part of) a secret
            raise BadInput(f"secret file {path} is not UTF-8 text (byte {exc.start})", f"{where}.{key}_file") from None
    return None


class Problems:
    """Every problem of a config, collected so that one run names them all (secrets included)."""

    def __init__(self) -> None:
        self.found: list[str] = []

    def attempt(self, compute: Callable[[], T], default: T) -> T:
        """`compute()`, or `default` with its BadInput recorded."""
        try:
            return compute()
        except BadInput as exc:
            self.found.append(str(exc))
            return default


def database_url(doc: Mapping[str, Any], base: Path) -> str | None:
    """The config's database URL: a relative SQLite path is relative to the config file (as the
    policy file is), not to where the command runs; only SQLite and PostgreSQL are supported."""
    url = secret(doc, "database_url", "config", base, default=DEFAULT_DATABASE)
    if url is None:
        return None
    kind = url.split(":", 1)[0].split("+", 1)[0].lower() if ":" in url else ""
    if kind not in ("sqlite", "postgresql", "postgres"):
        raise BadInput(
            f"unsupported database {kind or url[:20]!r}: use sqlite:///PATH (embedded) or postgresql://USER@HOST/DB",
            "database_url",
        )
    if kind == "sqlite" and url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        path = url[len("sqlite:///") :]
        if path and not path.startswith(":memory:"):
            return f"sqlite:///{(base / path).resolve()}"
    return url


def database_url_only(path: str | Path | None = None) -> str | None:
    """The database URL of the config file (else $CONNECTOR_CONFIG), nothing else resolved: for
    the commands that read only the database (a platform's secret may be missing there)."""
    path = path or os.environ.get("CONNECTOR_CONFIG")
    if not path:
        return None
    doc = read_document(Path(path), "config", "toml")
    try:
        return database_url(doc, Path(path).parent)
    except BadInput as exc:
        raise BadInput(exc.message, f"{path}: {exc.where}" if exc.where else str(path)) from None


def _platform(name: str, doc: Mapping[str, Any], base: Path, problems: Problems) -> PlatformSettings:
    where = f"platforms.{name}"
    creds_doc = doc.get("credentials", {})
    keys = {k.removesuffix("_env").removesuffix("_file") for k in creds_doc}
    credentials = {
        k: problems.attempt(partial(secret, creds_doc, k, f"{where}.credentials", base), None) or ""
        for k in sorted(keys)
    }
    webhook_secret = problems.attempt(lambda: secret(doc, "webhook_secret", where, base), None) or ""
    if webhook_secret and len(webhook_secret) < 16:
        problems.found.append(f"{where}.webhook_secret: a webhook secret needs at least 16 characters")
    return PlatformSettings(
        name=name,
        base_url=doc.get("base_url", ""),
        webhook_secret=webhook_secret,
        credentials=credentials,
        fields={k: str(v) for k, v in doc.get("fields", {}).items()},
        tag_prefix=doc.get("tag_prefix", "sla_"),
        dry_run=doc.get("dry_run", False),
        options=doc.get("options", {}),
    )


def settings_problems(name: str, section: Mapping[str, Any], schema: Mapping[str, Any]) -> list[str]:
    """Every way a platform's `credentials` (their names), `fields` and `options` break the
    adapter's settings schema, each named by its key (platforms.<name>.options.kb_tag: ...)."""
    credentials = {k.removesuffix("_env").removesuffix("_file"): "secret" for k in section.get("credentials", {})}
    doc = {"credentials": credentials, "fields": section.get("fields", {}), "options": section.get("options", {})}
    errors = sorted(Draft202012Validator(schema).iter_errors(doc), key=lambda e: [str(p) for p in e.path])
    return [".".join(["platforms", name, *map(str, e.path)]) + f": {e.message}" for e in errors]


def config_from_mapping(
    doc: Mapping[str, Any],
    base: Path,
    source: str,
    platforms: Mapping[str, Mapping[str, Any]] | Collection[str] | None = None,
) -> Config:
    """A Config from a parsed document; every schema problem is listed with its key. `platforms`
    names the platforms there are adapters for, or maps each to its settings schema (None: any
    name is accepted, settings unchecked)."""
    validate("config.schema.json", doc, f"config {source}")
    problems = Problems()
    for name, section in doc.get("platforms", {}).items():
        if platforms is not None and name not in platforms:
            problems.found.append(
                f"platforms.{name}: unknown platform {name!r} (known: {', '.join(sorted(platforms))})"
            )
        elif isinstance(platforms, Mapping):
            problems.found += settings_problems(name, section, platforms[name])
    config = Config(
        database_url=problems.attempt(lambda: database_url(doc, base), None),
        policy=str(base / doc["policy"]) if "policy" in doc else None,
        server={**SERVER_DEFAULTS, **doc.get("server", {})},
        worker={**WORKER_DEFAULTS, **doc.get("worker", {})},
        platforms={name: _platform(name, body, base, problems) for name, body in doc.get("platforms", {}).items()},
        source=source,
        access={**ACCESS_DEFAULTS, **doc.get("access", {})},
        alerts=problems.attempt(lambda: _alerts({**ALERT_DEFAULTS, **doc.get("alerts", {})}), dict(ALERT_DEFAULTS)),
        admin=problems.attempt(lambda: _admin(doc.get("admin", {}), base), dict(ADMIN_DEFAULTS)),
        events={**EVENT_DEFAULTS, **doc.get("events", {})},
    )
    if problems.found:
        raise ValidationFailed(f"config {source} is invalid ({len(problems.found)} problem(s))", problems.found)
    return config


def _admin(section: Mapping[str, Any], base: Path) -> dict[str, Any]:
    """The status page's token (None: the page is off), at least 16 characters however given."""
    token = secret(section, "token", "admin", base)
    if token is not None and len(token) < 16:
        raise BadInput("the admin token needs at least 16 characters", "admin.token")
    return {"session_hours": float(section.get("session_hours", ADMIN_DEFAULTS["session_hours"])), "token": token}


def _alerts(section: dict[str, Any]) -> dict[str, Any]:
    """Alert points sorted, each once; a priority action names its priority."""
    points = sorted(({"action": "note", **p} for p in section["points"]), key=lambda p: p["at"])
    for i, point in enumerate(points):
        where = f"alerts.points[{i}]"
        if point["action"] == "priority" and not point.get("priority"):
            raise BadInput('action = "priority" needs priority = "<the platform\'s value>"', where)
        if i and point["at"] == points[i - 1]["at"]:
            raise BadInput(f"two alert points at {point['at']:g}", where)
    return {**section, "points": tuple(points)}


def load_config(
    path: str | Path | None = None, platforms: Mapping[str, Mapping[str, Any]] | Collection[str] | None = None
) -> Config:
    """The config from `path`, else CONNECTOR_CONFIG, else the defaults (no platform enabled)."""
    path = path or os.environ.get("CONNECTOR_CONFIG")
    if not path:
        return Config()
    path = Path(path)
    doc = read_document(path, "config", "toml")
    try:
        return config_from_mapping(doc, path.parent, str(path), platforms)
    except BadInput as exc:
        raise BadInput(exc.message, f"{path}: {exc.where}" if exc.where else str(path)) from None
