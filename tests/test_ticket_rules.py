"""The SLA meaning of a ticket's facts, decided once in the core for every platform: the first
response, the status-history fallback, the default request type, a customer's answer ending a
wait, and due moments as tickets carry them (whole seconds, the vendor's zone)."""

from datetime import datetime, timedelta

import pytz

from connector.config.calendars import build_calendar
from connector.core.ticket import (
    Author,
    Comment,
    StatusAt,
    Target,
    Ticket,
    TicketStatus,
    plan_write_back,
    resolution_clock,
)

MSK = pytz.timezone("Europe/Moscow")
CAL = build_calendar("default")
MON = MSK.localize(datetime(2025, 5, 12, 10, 0))  # an ordinary week, 10:00-18:00


def at(day: int, hour: int, minute: int = 0, second: int = 0, us: int = 0) -> datetime:
    return MSK.localize(datetime(2025, 5, day, hour, minute, second, us))


def ticket(**kw) -> Ticket:
    return Ticket("p", "1", kw.pop("created", MON), "ann@alpha.example", **kw)


def test_the_first_response_is_the_first_public_agent_comment_after_the_request():
    t = ticket(
        comments=(
            Comment(at(12, 10), Author.AGENT, True, opening=True),  # an agent logging a call
            Comment(at(12, 11), Author.AGENT, False),  # internal
            Comment(at(12, 12), Author.REQUESTER, True),
            Comment(at(12, 13), Author.END_USER, True),  # a colleague of the customer
            Comment(at(12, 14), Author.CONNECTOR, False),
            Comment(at(12, 15), Author.AGENT, True),
        )
    )
    assert t.first_response_at == at(12, 15)


def test_without_a_readable_history_the_ticket_is_new_from_creation_then_as_it_is_now():
    now = at(13, 9)
    assert ticket().status_history(now) == [StatusAt(MON, TicketStatus.NEW)]
    assert ticket(status=TicketStatus.PENDING, status_since=at(12, 15)).status_history(now) == [
        StatusAt(MON, TicketStatus.NEW),
        StatusAt(at(12, 15), TicketStatus.PENDING),
    ]
    assert ticket(status=TicketStatus.SOLVED).status_history(now)[-1] == StatusAt(now, TicketStatus.SOLVED)


def test_no_request_type_means_an_error_report():
    assert ticket().kind == "error" and ticket(request_type="proposal").kind == "proposal"


def test_a_customers_answer_ends_a_wait_on_the_customer_even_if_the_status_stays():
    """RT keeps `stalled` after a requester's reply; Zendesk reopens. The clock resumes either way."""
    t = ticket(
        statuses=(StatusAt(MON, TicketStatus.OPEN), StatusAt(at(12, 12), TicketStatus.PENDING)),
        comments=(Comment(at(12, 16), Author.REQUESTER, True),),
    )
    reading = resolution_clock(t, Target(timedelta(hours=40), CAL), at(12, 18)).reading(at(12, 18))
    assert reading.elapsed == timedelta(hours=4)  # 10-12 and 16-18: paused 12-16
    solved = ticket(
        statuses=(StatusAt(MON, TicketStatus.OPEN), StatusAt(at(12, 12), TicketStatus.SOLVED)),
        comments=(Comment(at(12, 16), Author.REQUESTER, True),),
    )
    assert resolution_clock(solved, Target(timedelta(hours=40), CAL), at(12, 18)).reading(
        at(12, 18)
    ).elapsed == timedelta(hours=2)  # a thank-you after the solve does not reopen it: the platform's status does


def test_due_moments_are_whole_seconds_in_the_vendor_zone():
    created = at(12, 10, 0, 3, 94125)
    plan = plan_write_back(
        ticket(created=created),
        "warranty",
        (),
        None,
        Target(timedelta(hours=8), CAL),
        Target(timedelta(hours=24), build_calendar("24x7")),
        at(12, 11),
        zone=MSK,
    )
    # 7:59:57 on Monday, the last 3.094 s on Tuesday: due 10:00:03.094, carried as 10:00:03
    assert plan.desired.first_response_due.isoformat() == "2025-05-13T10:00:03+03:00"
    assert plan.desired.resolution_due.isoformat() == "2025-05-13T10:00:03+03:00"  # 24x7 (UTC), shown in MSK
    assert plan.desired.resolution_due.utcoffset() == timedelta(hours=3)
    assert "first response due 2025-05-13T10:00:03+03:00" in plan.note
