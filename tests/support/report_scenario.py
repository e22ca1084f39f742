"""A report scenario computed by hand: seven tickets of February 2026 run through the real
processor (entitlement, SLA clocks, the ledger after-step) on the default calendar (10:00-18:00
Mon-Fri, Europe/Moscow; no holiday or shortened day between 2026-02-02 and 2026-02-13).

Every ticket is processed at NOW (Tue 2026-02-10 12:00 MSK), and the report runs at NOW too.
The arithmetic of each outcome is in the comments of TICKETS; tests/test_report.py checks the
report against EXPECTED row by row.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytz

from connector.config.rules import rulebook
from connector.config.settings import PlatformSettings
from connector.core.ticket import Author, Comment, StatusAt, Ticket, TicketStatus
from connector.pipeline.ledger import LedgerRecorder
from connector.pipeline.process import Processor
from connector.storage.ledger import LedgerStore
from connector.storage.registry_import import import_registry
from tests.support.fakes import OfflineAdapter

MSK = pytz.timezone("Europe/Moscow")


def msk(text: str) -> datetime:
    """A Moscow wall time "2026-02-02 10:00" as an aware moment."""
    return MSK.localize(datetime.fromisoformat(text))


NOW = msk("2026-02-10 12:00")
REGISTRY: dict[str, Any] = {
    "products": [{"code": "KOMPAS", "name": "KOMPAS-3D"}, {"code": "PILOT", "name": "Pilot-ICE"}],
    "customers": [
        {"id": "C-AL", "name": "Alpha Design", "email_domains": ["alpha.ru"]},
        {"id": "C-BE", "name": "Beta Works"},
    ],
    "contacts": [
        {"email": "ann@alpha.ru", "customer": "C-AL", "name": "Ann Petrova"},
        {"email": "bob@alpha.ru", "customer": "C-AL"},
        {"email": "carol@beta.ru", "customer": "C-BE"},
    ],
    "licenses": [
        {"customer": "C-AL", "product": "KOMPAS", "since": "2020-01-01"},
        {"customer": "C-AL", "product": "PILOT", "since": "2020-01-01"},
        {"customer": "C-BE", "product": "KOMPAS", "since": "2020-01-01"},
    ],
    # warranty of KOMPAS for C-AL: 2025-12-01 .. 2026-12-01 (8 h first response, 40 h resolution)
    "purchases": [{"customer": "C-AL", "product": "KOMPAS", "kind": "update_package", "date": "2025-12-01"}],
    # PILOT under contract C-17: 4 h first response, 16 h resolution, on the default calendar
    "contracts": [
        {
            "number": "C-17",
            "customer": "C-AL",
            "counterparty": "central",
            "starts": "2026-01-01",
            "ends": "2026-12-31",
            "products": ["PILOT"],
            "sla": {"first_response_hours": 4, "resolution_hours": 16},
        }
    ],
}


def _reply(at: str) -> Comment:
    return Comment(msk(at), Author.AGENT, public=True)


def _ticket(
    tid: str, created: str, email: str, product: str, kind: str, replies=(), statuses=(), name: str | None = None
) -> Ticket:
    opened = msk(created)
    history = [StatusAt(opened, TicketStatus.NEW)] + [StatusAt(msk(at), s) for at, s in statuses]
    return Ticket(
        "memory",
        tid,
        opened,
        email,
        product=product,
        request_type=kind,
        statuses=history,
        comments=(Comment(opened, Author.REQUESTER, True, opening=True), *map(_reply, replies)),
        subject=f"ticket {tid}",
        requester_name=name,
    )


TICKETS = [
    # T1 warranty. First response due Mon 10:00 + 8 h = Mon 02-02 18:00; reply Mon 15:00 (5 h) -> met.
    # Resolution 40 h: Mon 8 h, paused Tue 10:00 - Wed 10:00 (8 working hours), then Wed 8, Thu 8,
    # Fri 8 (32), Mon 8 (40) -> due Mon 02-09 18:00; solved Mon 02-09 12:00 -> met; paused 8.00 h.
    _ticket(
        "1",
        "2026-02-02 10:00",
        "ann@alpha.ru",
        "KOMPAS",
        "error",
        ["2026-02-02 15:00"],
        [
            ("2026-02-03 10:00", TicketStatus.PENDING),
            ("2026-02-04 10:00", TicketStatus.OPEN),
            ("2026-02-09 12:00", TicketStatus.SOLVED),
        ],
        name="Ann Petrova",
    ),
    # T2 warranty. First response: Tue 17-18 (1 h) + Wed 10:00 + 7 h = Wed 02-04 17:00; reply Thu
    # 11:00 -> missed (Tue 1 + Wed 8 + Thu 1 = 10 working hours). Resolution 40 h: Tue 1, Wed 8 (9),
    # Thu 8 (17), Fri 8 (25), Mon 8 (33), Tue 02-10 10:00 + 7 h = 17:00 -> not solved, ahead of NOW -> open.
    _ticket("2", "2026-02-03 17:00", "bob@alpha.ru", "KOMPAS", "information", ["2026-02-05 11:00"]),
    # T3 contract C-17 (individual). First response 4 h: Wed 16-18 (2 h) + Thu 10:00 + 2 h = Thu
    # 02-05 12:00; reply exactly then -> met (4 h). Resolution 16 h: Wed 2, Thu 8 (10), Fri 10:00 + 6 h
    # = Fri 02-06 16:00; not solved at NOW -> missed.
    _ticket("3", "2026-02-04 16:00", "ann@alpha.ru", "PILOT", "error", ["2026-02-05 12:00"]),
    # T4: unknown requester: tier none, no targets -> "-" and "-"; no customer (not in C-AL's report).
    _ticket("4", "2026-02-05 11:00", "x@nowhere.example", "KOMPAS", "error"),
    # T5 basic (C-BE): first response 16 h from Mon 02-09 10:00: Mon 8 + Tue 8 = Tue 02-10 18:00; no
    # reply, ahead of NOW -> open; basic sets no resolution target -> "-".
    _ticket("5", "2026-02-09 10:00", "carol@beta.ru", "KOMPAS", "error"),
    # T6 warranty, matched by the domain alpha.ru; created Sun 02-08 23:30 MSK (vendor day 02-08,
    # inside a period ending 02-08). First response from the next opening Mon 10:00 + 8 h = Mon 02-09
    # 18:00; no reply, passed at NOW -> missed. Resolution 40 h: Mon..Fri 8 h each = Fri 02-13 18:00 -> open.
    # Its e-mail starts with "=": the CSV must not let a spreadsheet run it.
    _ticket("6", "2026-02-08 23:30", "=2+3@alpha.ru", "KOMPAS", "proposal"),
    # T7: Mon 02-09 00:30 MSK is still 02-08 in UTC (21:30Z), but vendor day 02-09: outside a period
    # ending 02-08. First response Mon 10:00 + 8 h = Mon 18:00, missed at NOW.
    _ticket("7", "2026-02-09 00:30", "ann@alpha.ru", "KOMPAS", "error"),
]

# The report of C-AL for 2026-02-02 .. 2026-02-08, at NOW: T1, T2, T3, T6 (oldest first).
EXPECTED_CSV = [
    "platform,ticket,created_at,requester,customer,product,request_type,tier,contract,first_response_due,"
    "first_response_at,first_response,resolution_due,resolved_at,resolution,paused_hours,flags",
    "memory,1,2026-02-02T10:00:00+03:00,ann@alpha.ru,C-AL,KOMPAS,error,warranty,,2026-02-02T18:00:00+03:00,"
    "2026-02-02T15:00:00+03:00,met,2026-02-09T18:00:00+03:00,2026-02-09T12:00:00+03:00,met,8.00,",
    "memory,2,2026-02-03T17:00:00+03:00,bob@alpha.ru,C-AL,KOMPAS,information,warranty,,2026-02-04T17:00:00+03:00,"
    "2026-02-05T11:00:00+03:00,missed,2026-02-10T17:00:00+03:00,,open,0.00,",
    "memory,3,2026-02-04T16:00:00+03:00,ann@alpha.ru,C-AL,PILOT,error,individual,C-17,2026-02-05T12:00:00+03:00,"
    "2026-02-05T12:00:00+03:00,met,2026-02-06T16:00:00+03:00,,missed,0.00,",
    "memory,6,2026-02-08T23:30:00+03:00,'=2+3@alpha.ru,C-AL,KOMPAS,proposal,warranty,,2026-02-09T18:00:00+03:00,"
    ",missed,2026-02-13T18:00:00+03:00,,open,0.00,",
]


def load_scenario(engine, tmp_path) -> LedgerStore:
    """Import the registry and process every ticket at NOW through the real processor (dry run:
    the fake platform takes no writes), its ledger after-step recording each one."""
    import json

    path = tmp_path / "scenario-registry.json"
    path.write_text(json.dumps(REGISTRY), encoding="utf-8")
    import_registry(path, engine)
    tickets = {t.id: t for t in TICKETS}

    class Platform(OfflineAdapter):
        name = "memory"

        def fetch_ticket(self, ticket_id):
            return tickets[ticket_id]

    adapter = Platform(PlatformSettings("memory", dry_run=True))
    store = LedgerStore(engine)
    processor = Processor(engine, {"memory": adapter}, rulebook(), clock=lambda: NOW, after=[LedgerRecorder(store)])
    for ticket in TICKETS:
        processor.process_ticket(adapter, ticket.id)
    return store
