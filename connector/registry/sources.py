"""Read a registry from one JSON file or a folder of CSV files into one JSON-shaped document,
remembering where each row came from so that every problem can name its place.

CSV: one file per list (`products.csv`, `customers.csv`, ...), a header row, UTF-8 (a BOM is fine),
comma, semicolon or tab separated. Nested fields are dotted columns (`sla.first_response_hours`,
`platform_ids.zendesk`, `sla.targets.error.first_response_hours`); list cells are separated by `;`;
an empty cell is an absent field, except `sla.resolution_hours` where it is null (not regulated);
`null` or `-` in an hours column is null too.
"""
from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from connector.config.schemas import pointer
from connector.core.errors import BadInput
from connector.registry.records import LISTS

# Columns each CSV file must have (the schema's required fields, flattened).
REQUIRED_COLUMNS = {
    "products": ("code", "name"), "customers": ("id", "name"), "contacts": ("email", "customer"),
    "licenses": ("customer", "product", "since"), "purchases": ("customer", "product", "kind", "date"),
    "contracts": ("number", "customer", "counterparty", "starts", "ends", "products",
                  "sla.first_response_hours", "sla.resolution_hours"),
}
OPTIONAL_COLUMNS = {
    "products": ("withdrawn_on",), "customers": ("email_domains",), "contacts": ("name",),
    "licenses": (), "purchases": (),
    "contracts": ("sla.calendar", "sla.kb_access", "sla.dedicated_engineer", "sla.channels"),
}
OPEN_PREFIXES = {"customers": ("platform_ids.",), "contracts": ("sla.targets.",)}
LIST_CELLS = {"email_domains", "sla.channels", "products"}
NUMBER_LEAVES = ("first_response_hours", "resolution_hours")
NULL_WHEN_EMPTY = {"sla.resolution_hours"}
BOOLEANS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}


@dataclass
class RegistrySource:
    """A registry document, where it came from, and the problems met while reading it."""

    origin: str
    document: Any
    problems: list[str] = field(default_factory=list)
    rows: dict[str, list[int]] = field(default_factory=dict)  # CSV: list -> line of each item
    columns: dict[str, list[str]] = field(default_factory=dict)  # CSV: list -> header

    def place(self, path: tuple | list) -> str:
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
    except UnicodeDecodeError:
        return RegistrySource(str(path), None, [f"{path}: not UTF-8 text"])
    if not text.strip():
        return RegistrySource(str(path), None, [f"{path}: empty file (expected a JSON object of lists)"])
    try:
        return RegistrySource(str(path), json.loads(text))
    except json.JSONDecodeError as exc:
        return RegistrySource(str(path), None, [f"{path} line {exc.lineno}, column {exc.colno}:"
                                                f" not valid JSON: {exc.msg}"])


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
    except UnicodeDecodeError:
        source.problems.append(f"{file}: not UTF-8 text")
        return
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        source.problems.append(f"{file}: empty file (expected a header row)")
        return
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
                items.append(_item(dict(zip(header, cells)), source, f"{file} line {line}"))
                lines_of.append(line)
        line = reader.line_num + 1
    source.document[name] = items
    source.rows[name], source.columns[name] = lines_of, header


def _known_column(name: str, column: str) -> bool:


    """Whether a CSV header names a field of the list."""
    return (column in REQUIRED_COLUMNS[name] or column in OPTIONAL_COLUMNS[name] or column.startswith("x_")
            or any(column.startswith(p) and len(column) > len(p) for p in OPEN_PREFIXES.get(name, ())))


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
            return int(number) if number.is_integer() else number
        except ValueError:
            return cell
    if column == "sla.kb_access":
        return BOOLEANS.get(cell.lower(), cell)
    if column == "sla.calendar" and cell.startswith("{"):
        try:
            return json.loads(cell)
        except json.JSONDecodeError as exc:
            source.problems.append(f"{where}, column sla.calendar: not valid JSON: {exc.msg}")
    return cell
