"""Databases for the tests: copies of the session's migrated SQLite template (tests/conftest.py)."""

from __future__ import annotations

import shutil
from pathlib import Path


def copy_sqlite(template: Path, target: Path) -> str:
    """Copy the migrated template to `target` (no existing file is overwritten); its URL."""
    if target.exists():
        raise FileExistsError(target)
    shutil.copyfile(template, target)
    return f"sqlite:///{target}"
