"""manifest.json from the code: the adapters' own declarations (name, title, docs, how they
authenticate webhooks) and the commands. `python -m connector.cli.manifest` rewrites the file;
tests/test_manifest.py keeps the committed file equal to what this produces."""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from connector import __version__
from connector.cli import COMMANDS
from connector.platforms import adapter_class, platform_names

MANIFEST = Path(__file__).resolve().parents[2] / "manifest.json"


def manifest() -> dict[str, Any]:
    """The manifest document."""
    return {
        "name": "support-entitlement-connector",
        "version": __version__,
        "description": "Works out which support tier (basic, warranty, individual SLA contract) a customer is "
                       "entitled to, computes first-response and resolution due dates in working hours on the "
                       "vendor's calendar, and writes them back into the ticketing platform the support team "
                       "already uses.",
        "policy": "ASCON technical support policy: basic 5x8x16, warranty 5x8x8x40, individual per SLA",
        "calendar": {"default": "10:00-18:00 Mon-Fri, Europe/Moscow, Russian production calendar with "
                                "shortened pre-holiday days", "builtin": ["default", "24x7"]},
        "http": {"webhooks": "POST /webhooks/<platform>", "health": "GET /healthz", "metrics": "GET /metrics"},
        "commands": sorted(COMMANDS),
        "platforms": [
            {"name": cls.name, "title": cls.title, "docs": cls.docs_url, "webhook_auth": cls.authentication,
             "schema": f"schemas/{cls.schema_name()}", "install": f"webhooks/{cls.name}/"}
            for cls in map(adapter_class, platform_names())
        ],
    }


if __name__ == "__main__":
    MANIFEST.write_text(json.dumps(manifest(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    sys.stdout.write(f"wrote {MANIFEST}\n")
