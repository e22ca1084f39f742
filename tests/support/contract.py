"""The shared adapter contract's fixtures: `tests/fixtures/<platform>/contract.json` and the files
it names. Every platform in `connector.platforms.ADAPTERS` brings one; `tests/test_contract.py`
runs the same tests over each.

contract.json:
- `settings`: the platform's config section as the TOML would give it (test secrets inline);
- `recorded_token`: the URL token the recorded deliveries came with (platforms that cannot sign);
- `events`: fixture name -> `verify_at` (when the recorded delivery is still fresh), and the
  `ticket_id`, `kind` and `delivery_id` ("content-hash" for the body's hash) it must parse to;
- `malformed`: fixture name -> the HTTP status it must get (signed as the platform would);
- `registry`: the registry file the write-back tests resolve against;
- `tickets`: ticket id -> `now`, the API calls of a read (`reads`), the `facts` it must give,
  the exact write requests of the first pass (`writes`), and the reads after them
  (`reads_after`), on which a second pass must write nothing.
A call is {method, path, query (optional), status (default 200), answer (a file under the
folder, or inline `json`), body (the exact JSON a write must send)}. Fixture bodies are
`<name>.json` (or `.txt`) with their headers in `<name>.headers.json`.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import responses
from responses import matchers

from connector.core.ticket import Ticket

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def contract(platform: str) -> dict[str, Any]:
    """A platform's contract.json, with its folder."""
    folder = FIXTURES / platform
    doc = json.loads((folder / "contract.json").read_text(encoding="utf-8"))
    return {**doc, "folder": folder}


def contract_adapter(platform: str) -> Any:
    """A new adapter from the contract's settings: API tests share no cache or state."""
    from connector.composition import adapters_for
    from connector.config.settings import config_from_mapping
    from connector.pipeline.metrics import Metrics
    from connector.platforms import settings_schemas

    spec = contract(platform)
    config = config_from_mapping(
        {"platforms": {platform: spec["settings"]}}, spec["folder"], "contract", settings_schemas()
    )
    return adapters_for(config, Metrics())[platform]


def sample_ticket(platform: str) -> str:
    """A ticket id as the platform spells it (a Jira key, a number), from its recorded events."""
    return str(next(iter(contract(platform)["events"].values()))["ticket_id"])


def delivery(folder: Path, name: str) -> tuple[dict[str, str], bytes]:
    """A fixture delivery: its recorded headers and its body, byte for byte."""
    body = folder / f"{name}.json"
    if not body.exists():
        body = folder / f"{name}.txt"
    return json.loads((folder / f"{name}.headers.json").read_text(encoding="utf-8")), body.read_bytes()


def moment(text: str) -> datetime:
    """An ISO 8601 moment of a fixture."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def register(
    mock: responses.RequestsMock, folder: Path, base_url: str, calls: list[dict[str, Any]], headers: dict[str, str]
) -> None:
    """Register the calls on `mock`: strict on the query, the auth headers and, for writes, the
    exact JSON body."""
    for call in calls:
        match = [matchers.query_param_matcher(call.get("query") or {})]
        if headers:
            match.append(matchers.header_matcher(headers))
        if "body" in call:
            match.append(matchers.json_params_matcher(call["body"]))
        kwargs: dict[str, Any] = {"status": call.get("status", 200), "match": match}
        if "json" in call:
            kwargs["json"] = call["json"]
        elif call.get("answer"):
            kwargs["json"] = json.loads((folder / call["answer"]).read_text(encoding="utf-8"))
        mock.add(call["method"], base_url.rstrip("/") + call["path"], **kwargs)


def facts(ticket: Ticket) -> dict[str, Any]:
    """A ticket's facts as JSON, for comparing with a fixture (moments as ISO 8601 in UTC)."""

    def iso(value: datetime | None) -> str | None:
        return None if value is None else value.astimezone(moment("2000-01-01T00:00:00Z").tzinfo).isoformat()

    carried = ticket.carried
    return {
        "id": ticket.id,
        "created_at": iso(ticket.created_at),
        "requester_email": ticket.requester_email,
        "organisation_id": ticket.organisation_id,
        "product": ticket.product,
        "request_type": ticket.request_type,
        "topic": ticket.topic,
        "channel": ticket.channel,
        "statuses": [[iso(s.at), s.status.value] for s in ticket.statuses],
        "status": ticket.status.value if ticket.status else None,
        "comments": [[iso(c.at), c.author.value, c.public, c.opening] for c in ticket.comments],
        "carried": {
            "tier": carried.tier,
            "first_response_due": iso(carried.first_response_due),
            "resolution_due": iso(carried.resolution_due),
            "flags": sorted(carried.flags),
            "assignee": carried.assignee,
        },
    }
