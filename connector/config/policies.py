"""Read a policy file (JSON), validate it and build the domain `Policy`."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

from connector.config.documents import read_document
from connector.config.schemas import validate
from connector.core.policy import Policy


def load_policy(path: str | Path | None = None) -> Policy:
    """The policy in `path`, or the default (the seed's tiers) when `path` is None."""
    if path is None:
        doc = json.loads((resources.files("connector") / "data" / "policy.default.json").read_text("utf-8"))
        where = "default policy"
    else:
        doc, where = read_document(path, "policy", "json"), str(path)
    validate("policy.schema.json", doc, f"policy {where}")
    return Policy.from_mapping(doc)
