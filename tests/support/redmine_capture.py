"""Record the contract cases of tests/fixtures/redmine/contract.json from a REAL Redmine 5: the
connector's own adapter reads and writes issues made through the REST API by real users, and
every request it makes, with Redmine's answer, is stored (answers under api/contract/).

    .venv/bin/python -m tests.support.redmine_capture [WORKDIR]

What it does (tests/fixtures/redmine/README.md, "Contract cases", says the same):
- users through the REST API: anna and boris (Developer members of `support`: agents; boris is the
  dedicated engineer of contract SLA-BIG-2026), ivan and petr (Reporter members: customers of
  C-IV; petr is ivan's colleague), olga (Reporter: the contract customer C-BIG);
- issue A by ivan (KOMPAS-3D, error, installation): anna's public reply, petr's public note, anna's
  private note, anna sets Feedback, ivan answers, anna sets In Progress;
- issue B by olga (KOMPAS-3D, information, functionality), nothing else;
- for each: a read (`reads`, `facts`), a first pass at `now` (`reads` again, then `writes`) and a
  second pass (`reads_after`), through `Processor.process_ticket` as the contract test runs them.
The `events` and `malformed` sections of contract.json are kept as they are.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from connector.config.rules import rulebook
from connector.config.settings import PlatformSettings
from connector.pipeline.process import Processor
from connector.platforms.redmine import RedmineAdapter
from connector.storage import open_database
from connector.storage.registry_import import import_registry
from tests.support.contract import facts
from tests.support.redmine import free_port, start_redmine

FOLDER = Path(__file__).resolve().parents[1] / "fixtures" / "redmine"
SECRET = "whsec_cmVkbWluZS1maXh0dXJlLXNpZ25pbmctc2VjcmV0ISE="
CONTRACT_BASE = "http://redmine.test"
CONTRACT_KEY = "contract-redmine-api-key-0123456789abcdef"


class Recorder:
    """Wraps the adapter client's `_request`: every call with its answer, in order."""

    def __init__(self, adapter: RedmineAdapter) -> None:
        self.calls: list[dict[str, Any]] = []
        self.marked: list[dict[str, Any]] = []  # the calls of the last fetch_ticket (see _marking)
        real = adapter.api()._request

        def recorded(method, url, headers, body):
            response = real(method, url, headers, body)
            self.calls.append(
                {
                    "method": method,
                    "url": url,
                    "body": json.loads(body) if body else None,
                    "status": response.status,
                    "answer": response.json(),
                }
            )
            return response

        adapter.api()._request = recorded  # type: ignore[method-assign]

    def take(self) -> list[dict[str, Any]]:
        calls, self.calls = self.calls, []
        return calls


def as_contract(calls: list[dict[str, Any]], ticket: str, phase: str, base: str) -> list[dict[str, Any]]:
    """Recorded calls as contract.json calls; the answers written under api/contract/."""
    out = []
    for i, call in enumerate(calls, 1):
        parts = urlsplit(call["url"])
        path = parts.path.removeprefix(urlsplit(base).path)
        entry: dict[str, Any] = {"method": call["method"], "path": path}
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        if query:
            entry["query"] = query
        if call["status"] != 200:
            entry["status"] = call["status"]
        if call["body"] is not None:
            entry["body"] = call["body"]
        if call["answer"] is not None:
            slug = re.sub(r"[^a-z0-9]+", "_", path.lower()).strip("_").removesuffix("_json")
            name = f"api/contract/issue_{ticket}__{phase}_{i:02d}_{call['method'].lower()}_{slug}.json"
            text = json.dumps(call["answer"], indent=2, ensure_ascii=False) + "\n"
            (FOLDER / name).write_text(text, encoding="utf-8")
            entry["answer"] = name
        out.append(entry)
    return out


def scenario(rm) -> dict[str, int]:
    """The users and the two issues; their ids."""
    people = {
        "anna": rm.create_user("anna", mail="anna@vendor.example", firstname="Anna", lastname="Agent"),
        "boris": rm.create_user("boris", mail="boris@vendor.example", firstname="Boris", lastname="Engineer"),
        "ivan": rm.create_user(
            "ivan", mail="ivan.petrov@customer.example", firstname="Ivan", lastname="Petrov", role="Reporter"
        ),
        "petr": rm.create_user(
            "petr", mail="petr@customer.example", firstname="Petr", lastname="Sidorov", role="Reporter"
        ),
        "olga": rm.create_user(
            "olga", mail="olga@bigcorp.example", firstname="Olga", lastname="Smirnova", role="Reporter"
        ),
    }
    cf = rm.custom_fields

    def create(who: str, subject: str, request_type: str, topic: str) -> int:
        doc = {
            "issue": {
                "project_id": "support",
                "tracker_id": 3,
                "subject": subject,
                "description": "Since the update the program closes at once.",
                "custom_fields": [
                    {"id": cf["product"], "value": "KOMPAS-3D"},
                    {"id": cf["request_type"], "value": request_type},
                    {"id": cf["topic"], "value": topic},
                ],
            }
        }
        return rm.api("POST", "/issues.json", doc, expect=201, key=people[who]["api_key"])["issue"]["id"]

    def change(who: str, issue: int, **fields: Any) -> None:
        rm.api("PUT", f"/issues/{issue}.json", {"issue": fields}, expect=204, key=people[who]["api_key"])
        time.sleep(1.1)  # journals a second apart: their times are whole seconds

    a = create("ivan", "KOMPAS-3D crashes on start", "error", "installation")
    time.sleep(1.1)
    change("anna", a, notes="Please send us the installer log (%TEMP%\\kompas_setup.log).")
    change("petr", a, notes="Same here on my machine.")
    change("anna", a, notes="Looks like the known .NET runtime issue.", private_notes=True)
    change("anna", a, status_id=4)
    change("ivan", a, notes="Log attached.")
    change("anna", a, status_id=2)
    b = create("olga", "How do I set up the BOM export?", "information", "functionality")
    return {"a": a, "b": b}


def capture(workdir: Path) -> dict[str, Any]:
    """Run the scenario on a fresh Redmine; the contract's `tickets`."""
    rm = start_redmine(workdir, f"http://127.0.0.1:{free_port()}/webhooks/redmine", SECRET)
    try:
        ids = scenario(rm)
        settings = PlatformSettings(
            "redmine",
            rm.base_url,
            SECRET,
            credentials={"api_key": rm.api_key},
            fields={k: str(v) for k, v in rm.custom_fields.items()},
            options={"project": "support"},
        )
        adapter = RedmineAdapter(settings, RedmineAdapter.client_for(settings))
        recorder = Recorder(adapter)
        engine = open_database(f"sqlite:///{workdir / 'capture-registry.db'}")
        import_registry(FOLDER / "registry.json", engine, replace=True)
        now = datetime.now(UTC).replace(microsecond=0)
        processor = Processor(engine, {"redmine": adapter}, rulebook(), clock=lambda: now)
        tickets = {}
        for issue in ids.values():
            tid = str(issue)
            read = facts(adapter.fetch_ticket(tid))
            reads = as_contract(recorder.take(), tid, "read", rm.base_url)
            adapter.fetch_ticket = _marking(adapter, recorder)  # type: ignore[method-assign]
            first = processor.process_ticket(adapter, tid)
            fetched, written = recorder.marked, recorder.take()
            second = processor.process_ticket(adapter, tid)
            del adapter.fetch_ticket
            assert first["written"] and not second["written"], (first, second)
            read.pop("id")
            tickets[tid] = {
                "now": now.isoformat().replace("+00:00", "Z"),
                "reads": reads,
                "facts": read,
                "writes": as_contract(written[len(fetched) :], tid, "write", rm.base_url),
                "reads_after": as_contract(recorder.take(), tid, "after", rm.base_url),
            }
        engine.dispose()
        return tickets
    finally:
        rm.stop()
        shutil.rmtree(rm.instance_dir, ignore_errors=True)  # the template cache in WORKDIR stays


def _marking(adapter: RedmineAdapter, recorder: Recorder):
    """fetch_ticket that remembers which recorded calls were the read."""
    real = RedmineAdapter.fetch_ticket

    def fetch(ticket_id: str):
        ticket = real(adapter, ticket_id)
        recorder.marked = list(recorder.calls)
        return ticket

    return fetch


def main() -> None:
    """Capture and rewrite the `tickets` (and `settings`) of contract.json."""
    workdir = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="redmine-capture-"))
    (FOLDER / "api" / "contract").mkdir(parents=True, exist_ok=True)
    for old in (FOLDER / "api" / "contract").glob("*.json"):
        old.unlink()
    tickets = capture(workdir)
    path = FOLDER / "contract.json"
    doc = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    doc["tickets"] = tickets
    path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {len(tickets)} ticket case(s) to {path}")


if __name__ == "__main__":
    main()
