"""One warranty customer and its tickets in an ordinary week of May 2025, for the SLA alert and
recompute tests: pavel@stroyproekt.example has a warranty (first response 8 working hours,
resolution 40) from a purchase on 1 April 2025."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from connector.core.ticket import Author, Comment, StatusAt, Ticket, TicketStatus

MSK = timezone(timedelta(hours=3))
REGISTRY = {
    "products": [{"code": "kompas_3d", "name": "KOMPAS-3D"}],
    "customers": [{"id": "C-SP", "name": "Stroyproekt", "email_domains": ["stroyproekt.example"]}],
    "contacts": [{"email": "pavel@stroyproekt.example", "customer": "C-SP"}],
    "licenses": [{"customer": "C-SP", "product": "kompas_3d", "since": "2020-01-15"}],
    "purchases": [{"customer": "C-SP", "product": "kompas_3d", "kind": "product", "date": "2025-04-01"}],
    "contracts": [],
}
MON = datetime(2025, 5, 12, 10, 0, tzinfo=MSK)  # an ordinary week: 10:00-18:00 Mon 12 - Fri 16, no holidays


def at(day: int, hour: int, minute: int = 0, second: int = 0, us: int = 0) -> datetime:
    """A moment in May 2025, Moscow time (12 = Monday)."""
    return datetime(2025, 5, day, hour, minute, second, us, tzinfo=MSK)


def ticket(ticket_id="1", created=MON, reply=None, statuses=()) -> Ticket:
    """A ticket of pavel@ on the fake platform, open since `created`, with an agent's public reply at `reply`."""
    return Ticket(
        "fake",
        ticket_id,
        created,
        "pavel@stroyproekt.example",
        product="kompas_3d",
        statuses=(StatusAt(created, TicketStatus.OPEN), *statuses),
        comments=(Comment(reply, Author.AGENT, True),) if reply else (),
    )
