"""Import a registry file into the database: check everything, then upsert in one transaction.

An invalid file changes nothing. Re-importing the same file changes nothing. With `replace`, rows
the file does not have are removed, so the database equals the file.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from connector.core.errors import ConnectorError, ValidationFailed
from connector.registry.checks import check_registry
from connector.registry.records import LISTS, Key, Record, key_of
from connector.registry.sources import RegistrySource, read_source
from connector.storage import tables as t
from connector.storage.moments import utc, utcnow
from connector.storage.registry import delete_records, read_records, write_records
from connector.storage.tables import metadata

# every import that changed the database (migration 0005): when, from where, what it did
registry_imports = sa.Table(
    "registry_imports",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("summary", sa.Text, nullable=False),
)

Progress = Callable[[str], None]


@dataclass
class ListChanges:
    """What an import did to one list."""

    created: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0


@dataclass
class ImportReport:
    """Per list changes, in the order of `LISTS`; `applied` is False for a dry run."""

    source: str
    changes: dict[str, ListChanges] = field(default_factory=dict)
    applied: bool = True
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        """Whether anything was (or, in a dry run, would be) created, updated or removed."""
        return any(c.created or c.updated or c.removed for c in self.changes.values())

    def summary(self) -> str:
        """One line: per list, what was created, updated and removed."""
        return (
            "; ".join(
                f"{name} +{c.created} ~{c.updated} -{c.removed} ={c.unchanged}" for name, c in self.changes.items()
            )
            or "nothing"
        )

    def table(self) -> str:
        """The changes as an aligned text table."""
        lines = [f"{'list':<10} {'created':>8} {'updated':>8} {'removed':>8} {'unchanged':>10}"]
        for name, c in self.changes.items():
            lines.append(f"{name:<10} {c.created:>8,} {c.updated:>8,} {c.removed:>8,} {c.unchanged:>10,}")
        return "\n".join(lines)


def import_registry(
    path: str | Path, engine: Engine, replace: bool = False, dry_run: bool = False, progress: Progress = lambda _m: None
) -> ImportReport:
    """Import the JSON file or CSV folder at `path`; raise ValidationFailed listing every problem."""
    started = time.perf_counter()
    source = read_source(path)
    if _size(source) < 10_000:
        progress = _quiet  # progress is for files that take a while
    progress(f"read {source.origin}")
    report = ImportReport(source.origin, applied=not dry_run)
    with engine.connect() as conn:
        with conn.begin() as transaction:  # one transaction: all or nothing
            stored = {name: read_records(conn, name) for name in LISTS}
            problems, records = check_registry(source, stored, replace, progress)
            if problems:
                raise ValidationFailed(
                    f"{source.origin}: the registry is invalid, nothing was imported ({len(problems)} problem(s))",
                    problems,
                )
            progress("checked; writing")
            try:
                _apply(conn, records, stored, replace, report, progress)
            except sa.exc.DBAPIError as exc:
                reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
                raise ConnectorError(f"the database refused the import, nothing was imported: {reason}") from None
            if dry_run:
                transaction.rollback()
            else:
                conn.execute(
                    registry_imports.insert().values(at=utcnow(), source=report.source, summary=report.summary())
                )
    report.seconds = time.perf_counter() - started
    return report


def _quiet(_message: str) -> None:
    """No progress at all (small files)."""
    pass


def _size(source: RegistrySource) -> int:
    """How many rows the document holds."""
    doc = source.document
    return sum(len(v) for v in doc.values() if isinstance(v, list)) if isinstance(doc, dict) else 0


def _apply(
    conn: sa.Connection,
    records: dict[str, list[Record]],
    stored: dict[str, dict[Key, Record]],
    replace: bool,
    report: ImportReport,
    progress: Progress,
) -> None:
    """Write parents first, then remove children first, so foreign keys hold at every step."""
    removals = {}
    for name in LISTS:
        if name not in records and not replace:
            continue
        given = {key_of(name, r): r for r in records.get(name, [])}
        have = stored[name]
        created = [r for k, r in given.items() if k not in have]
        updated = [r for k, r in given.items() if k in have and have[k] != r]
        removals[name] = [r for k, r in have.items() if k not in given] if replace else []
        report.changes[name] = ListChanges(
            len(created), len(updated), len(removals[name]), len(given) - len(created) - len(updated)
        )
        write_records(conn, name, created, updated, progress)
    for name in reversed(LISTS):
        delete_records(conn, name, removals.get(name, []))


def registry_status(engine: Engine) -> tuple[dict[str, int], tuple[datetime, str, str] | None]:
    """Rows per registry list, and the last import (when, source, summary) or None."""
    lists = {
        "products": t.products,
        "customers": t.customers,
        "contacts": t.contacts,
        "licenses": t.licenses,
        "purchases": t.purchases,
        "contracts": t.contracts,
    }
    i = registry_imports.c
    with engine.connect() as conn:
        counts = {
            name: conn.execute(sa.select(sa.func.count()).select_from(table)).scalar() or 0
            for name, table in lists.items()
        }
        last = conn.execute(sa.select(i.at, i.source, i.summary).order_by(i.id.desc()).limit(1)).first()
    return counts, None if last is None else (utc(last.at), last.source, last.summary)
