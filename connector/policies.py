"""Read a policy file (JSON), validate it and build the domain `Policy`."""
from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

from connector.core.policy import Policy
from connector.errors import BadInput
from connector.schemas_access import validate


def load_policy(path: str | Path | None = None) -> Policy:
    """The policy in `path`, or the default (the seed's tiers) when `path` is None."""
    if path is None:
        text = (resources.files("connector") / "data" / "policy.default.json").read_text("utf-8")
        where = "default policy"
    else:
        where = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise BadInput(f"cannot read policy file: {exc.strerror}", where) from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadInput(f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})", where) from None
    validate("policy.schema.json", doc, f"policy {where}")
    return Policy.from_mapping(doc)
