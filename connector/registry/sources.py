"""Read a registry from one JSON file or a folder of CSV files into one JSON-shaped document,
remembering where each row came from so that every problem can name its place.

CSV: one file per list (`products.csv`, `customers.csv`, ...), a header row, UTF-8 (a BOM is fine),
comma, semicolon or tab separated. Nested fields are dotted columns (`sla.first_response_hours`,
`platform_ids.zendesk`, `sla.targets.error.first_response_hours`); list cells are separated by `;`;
an empty cell is an absent field, except `sla.resolution_hours` where it is null (not regulated);
`null` or `-` in an hours column is null too.

A file that is not a registry at all is a problem named with its place, never a traceback: not
UTF-8, `null`, nesting that exhausts the parser, NaN, numbers past any sensible size, lone
surrogates or NUL characters (no database can store them), a CSV cell over the csv module's limit.
tests/test_hostile_import.py fuzzes this and keeps what it found under tests/fixtures/hostile/.
"""

from __future__ import annotations

import csv
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from connector.config.schemas import pointer
from connector.core.errors import BadInput
from connector.registry.records import LISTS

# Columns each CSV file must have (the schema's required fields, flattened).
REQUIRED_COLUMNS = {
    "products": ("code", "name"),
    "customers": ("id", "name"),
    "contacts": ("email", "customer"),
    "licenses": ("customer", "product", "since"),
    "purchases": ("customer", "product", "kind", "date"),
    "contracts": (
        "number",
        "customer",
        "counterparty",
        "starts",
        "ends",
        "products",
        "sla.first_response_hours",
        "sla.resolution_hours",
    ),
}
OPTIONAL_COLUMNS = {
    "products": ("withdrawn_on",),
    "customers": ("email_domains",),
    "contacts": ("name",),
    "licenses": (),
    "purchases": (),
    "contracts": ("sla.calendar", "sla.kb_access", "sla.dedicated_engineer", "sla.channels"),
}
OPEN_PREFIXES = {"customers": ("platform_ids.",), "contracts": ("sla.targets.",)}
LIST_CELLS = {"email_domains", "sla.channels", "products"}
NUMBER_LEAVES = ("first_response_hours", "resolution_hours")
NULL_WHEN_EMPTY = {"sla.resolution_hours"}
BOOLEANS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}
MAX_NUMBER = 1e12  # hours, days: anything larger is a typo or an attack, and overflows a timedelta
MAX_DEPTH = 32  # a registry nests four levels (contracts / sla / targets / error)
NOT_TEXT = re.compile("[\x00\ud800-\udfff]")  # NUL and lone surrogates: no database stores them


@dataclass
class RegistrySource:
    """A registry document, where it came from, and the problems met while reading it."""

    origin: str
    document: Any
    problems: list[str] = field(default_factory=list)
    rows: dict[str, list[int]] = field(default_factory=dict)  # CSV: list -> line of each item
    columns: dict[str, list[str]] = field(default_factory=dict)  # CSV: list -> header

    def place(self, path: Sequence[Any]) -> str:
        """The human place of a JSON path: `file /pointer` or `file.csv line N, column C`."""
        path = list(path)
        if not self.rows or not path or path[0] not in self.rows or len(path) < 2:
            return f"{self.origin} {pointer(path)}"
        name, index, inner = path[0], path[1], [str(p) for p in path[2:]]
        where = f"{Path(self.origin) / (name + '.csv')} line {self.rows[name][index]}"
        header = self.columns.get(name, [])
        for cut in range(len(inner), 0, -1):  # the longest dotted prefix that is a column
            if ".".join(inner[:cut]) in header:
                return f"{where}, column {'.'.join(inner[:cut])}"
        return where


def read_source(path: str | Path) -> RegistrySource:
    """The registry in `path`: a JSON file or a folder of CSV files."""
    path = Path(path)
    if path.is_dir():
        return _read_folder(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise BadInput(f"cannot read the registry: {exc.strerror}", str(path)) from None
    except UnicodeDecodeError as exc:
        return RegistrySource(str(path), None, [f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})"])
    if not text.strip():
        return RegistrySource(str(path), None, [f"{path}: empty file (expected a JSON object of lists)"])
    try:
        document = json.loads(text, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        return RegistrySource(
            str(path), None, [f"{path} line {exc.lineno}, column {exc.colno}: not valid JSON: {exc.msg}"]
        )
    except RecursionError:
        return RegistrySource(str(path), None, [f"{path}: nested too deeply to be a registry"])
    except ValueError as exc:  # an integer of over 4,300 digits, NaN, Infinity
        return RegistrySource(str(path), None, [f"{path}: not usable JSON: {exc}"])
    if document is None:
        return RegistrySource(str(path), None, [f"{path}: holds null (expected a JSON object of lists)"])
    source = RegistrySource(str(path), document)
    unusable = unusable_values(source)
    # no further check runs on such a document (a deep one would exhaust the schema validator)
    return RegistrySource(str(path), None, unusable) if unusable else source


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def unusable_values(source: RegistrySource) -> list[str]:
    """Values no registry holds, each with its place: nesting deeper than MAX_DEPTH, numbers that
    are not finite or over MAX_NUMBER, strings with NUL characters or lone surrogates."""
    found: list[str] = []
    stack: list[tuple[Any, tuple[Any, ...]]] = [(source.document, ())]
    while stack and len(found) < 100:
        node, path = stack.pop()
        if len(path) > MAX_DEPTH:
            found.append(f"{source.place(path)}: nested deeper than {MAX_DEPTH} levels")
        elif isinstance(node, dict):
            for key, value in node.items():
                if NOT_TEXT.search(key):
                    found.append(f"{source.place(path)}: a field name holds a NUL character or a lone surrogate")
                stack.append((value, path + (key,)))
        elif isinstance(node, list):
            stack.extend((value, path + (index,)) for index, value in enumerate(node))
        elif isinstance(node, str) and NOT_TEXT.search(node):
            found.append(f"{source.place(path)}: text with a NUL character or a lone surrogate")
        elif (
            isinstance(node, (int, float))
            and not isinstance(node, bool)
            and (isinstance(node, float) and not math.isfinite(node) or abs(node) > MAX_NUMBER)
        ):
            found.append(f"{source.place(path)}: number {str(node)[:20]} is out of range")
    return sorted(found)


def _read_folder(folder: Path) -> RegistrySource:
    """Every CSV file of a folder, and problems for unknown files."""
    source = RegistrySource(str(folder), {})
    files = sorted(folder.glob("*.csv"))
    for file in files:
        if file.stem not in LISTS:
            source.problems.append(f"{file}: unknown file (the lists are {', '.join(LISTS)})")
    if not any(file.stem in LISTS for file in files):
        source.problems.append(f"{folder}: no registry CSV files ({', '.join(n + '.csv' for n in LISTS)})")
    for name in LISTS:
        if (folder / f"{name}.csv").is_file():
            _read_csv(folder / f"{name}.csv", name, source)
    return source


def _read_csv(file: Path, name: str, source: RegistrySource) -> None:
    """Append the rows of one CSV file to the source's document (or problems, if unusable)."""
    try:
        text = file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        source.problems.append(f"{file}: not UTF-8 text ({exc.reason} at byte {exc.start})")
        return
    except OSError as exc:
        source.problems.append(f"{file}: cannot read: {exc.strerror}")
        return
    if "\x00" in text:  # the csv module reads NUL as a character, and no database stores it
        source.problems.append(
            f"{file} line {text[: text.index(chr(0))].count(chr(10)) + 1}: a NUL character"
            " (a binary file, or text in UTF-16?)"
        )
        return
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        source.problems.append(f"{file}: empty file (expected a header row)")
        return
    try:
        _read_rows(file, name, source, text, lines)
    except csv.Error as exc:  # a NUL byte, a cell over the csv module's size limit
        source.problems.append(f"{file}: not a usable CSV file: {exc}")
        source.document.pop(name, None)


def _read_rows(file: Path, name: str, source: RegistrySource, text: str, lines: list[str]) -> None:
    """The header and rows of one CSV file into the source (csv.Error propagates)."""
    delimiter = max(",;\t", key=lines[0].count)
    reader = csv.reader(text.splitlines(keepends=True), delimiter=delimiter)
    header = [h.strip() for h in next(reader)]
    missing = [c for c in REQUIRED_COLUMNS[name] if c not in header]
    unknown = [c for c in header if not _known_column(name, c)]
    for column in missing:
        source.problems.append(f"{file} line 1: missing column {column!r}")
    for column in unknown:
        source.problems.append(f"{file} line 1: unknown column {column!r}")
    if missing or unknown or len(set(header)) != len(header):
        if len(set(header)) != len(header):
            source.problems.append(f"{file} line 1: a column is named twice")
        return
    items, lines_of = [], []
    line = reader.line_num + 1
    for cells in reader:
        if any(c.strip() for c in cells):
            if len(cells) != len(header):
                source.problems.append(f"{file} line {line}: {len(cells)} cells for {len(header)} columns")
            else:
                items.append(_item(dict(zip(header, cells, strict=True)), source, f"{file} line {line}"))
                lines_of.append(line)
        line = reader.line_num + 1
    source.document[name] = items
    source.rows[name], source.columns[name] = lines_of, header


def _known_column(name: str, column: str) -> bool:
    """Whether a CSV header names a field of the list."""
    return (
        column in REQUIRED_COLUMNS[name]
        or column in OPTIONAL_COLUMNS[name]
        or column.startswith("x_")
        or any(column.startswith(p) and len(column) > len(p) for p in OPEN_PREFIXES.get(name, ()))
    )


def _item(cells: dict[str, str], source: RegistrySource, where: str) -> dict[str, Any]:
    """One row as a JSON object; a cell that does not convert stays a string for the schema to name."""
    item: dict[str, Any] = {}
    for column, raw in cells.items():
        cell = raw.strip()
        if not cell and column not in NULL_WHEN_EMPTY:
            continue
        target, parts = item, column.split(".")
        for part in parts[:-1]:
            target = target.setdefault(part, {})
        target[parts[-1]] = _value(column, cell, source, where)
    return item


def _value(column: str, cell: str, source: RegistrySource, where: str) -> Any:
    """A cell converted to its field's JSON type where it can be."""
    if not cell:
        return None
    if column == "products" and cell == "*":
        return cell
    if column in LIST_CELLS:
        return [part.strip() for part in cell.split(";") if part.strip()]
    if column.endswith(NUMBER_LEAVES):
        if cell.lower() in ("null", "-"):
            return None  # not regulated
        try:
            number = float(cell.replace(",", "."))  # a decimal comma, as Russian spreadsheets write
        except ValueError:
            return cell
        if not math.isfinite(number) or abs(number) > MAX_NUMBER:
            return cell  # "1e999", "inf", "nan": the schema names it as not a number
        return int(number) if number.is_integer() else number
    if column == "sla.kb_access":
        return BOOLEANS.get(cell.lower(), cell)
    if column == "sla.calendar" and cell.startswith("{"):
        try:
            return json.loads(cell)
        except json.JSONDecodeError as exc:
            source.problems.append(f"{where}, column sla.calendar: not valid JSON: {exc.msg}")
    return cell
