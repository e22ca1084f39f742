"""Reading the documents admins write (config, calendar and policy files): one place that turns
an unreadable file or bad JSON/TOML into a clear `BadInput` naming the file."""
from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

from connector.core.errors import BadInput


def read_document(path: str | Path, what: str, fmt: str | None = None) -> Any:
    """The parsed JSON or TOML of `path` (format from `fmt`, else the suffix: .json is JSON)."""
    path = Path(path)
    fmt = fmt or ("json" if path.suffix == ".json" else "toml")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise BadInput(f"cannot read {what} file: {exc.strerror}", str(path)) from None
    try:
        return json.loads(text) if fmt == "json" else tomllib.loads(text)
    except json.JSONDecodeError as exc:
        raise BadInput(f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})", str(path)) from None
    except tomllib.TOMLDecodeError as exc:
        raise BadInput(f"not valid TOML: {exc}", str(path)) from None
