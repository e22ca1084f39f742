"""Reading the documents admins write (config, calendar and policy files): one place that turns
an unreadable file or bad JSON/TOML into a clear `BadInput` naming the file."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

from connector.core.errors import BadInput

MAX_BYTES = 16 << 20  # an admin's document is a few KiB; far more is not one


def read_document(path: str | Path, what: str, fmt: str | None = None) -> Any:
    """The parsed JSON or TOML of `path` (format from `fmt`, else the suffix: .json is JSON).
    Anything that is not a plain document of that format (not UTF-8, NaN, numbers too long to be
    numbers, nesting that exhausts the parser, a huge file) is a `BadInput` naming the file."""
    path = Path(path)
    fmt = fmt or ("json" if path.suffix == ".json" else "toml")
    try:
        if path.stat().st_size > MAX_BYTES:
            raise BadInput(f"{what} file is over {MAX_BYTES >> 20} MiB: not a {what} file", str(path))
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise BadInput(f"cannot read {what} file: {exc.strerror}", str(path)) from None
    except UnicodeDecodeError as exc:
        raise BadInput(f"{what} file is not UTF-8 text: {exc.reason} at byte {exc.start}", str(path)) from None
    return parse_text(text, fmt, str(path))


def parse_text(text: str, fmt: str, where: str) -> Any:
    """JSON or TOML text parsed; `BadInput` at `where` for anything unusable."""
    if "\x00" in text:
        raise BadInput("contains a NUL character: not a text document", where)
    try:
        return json.loads(text, parse_constant=_no_constant) if fmt == "json" else tomllib.loads(text)
    except json.JSONDecodeError as exc:
        raise BadInput(f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})", where) from None
    except tomllib.TOMLDecodeError as exc:
        raise BadInput(f"not valid TOML: {exc}", where) from None
    except RecursionError:
        raise BadInput(f"not usable {fmt.upper()}: nested too deeply", where) from None
    except ValueError as exc:  # an integer of over 4,300 digits, NaN or Infinity
        raise BadInput(f"not usable {fmt.upper()}: {exc}", where) from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")
