"""django-helpdesk without a server: token check, schema and parsing over the captured payloads,
the API ticket -> domain ticket reading, and the write-back bodies."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from connector.config.schemas import validate
from connector.config.settings import PlatformSettings
from connector.core.errors import BadInput, PlatformRejected, Unauthorized, ValidationFailed
from connector.core.events import Delivery
from connector.core.ticket import Carried, TicketStatus
from connector.platforms import adapter_class
from connector.platforms.django_helpdesk import DjangoHelpdeskAdapter
from connector.platforms.django_helpdesk.reading import to_ticket
from connector.platforms.django_helpdesk.writing import note_body, patch_body

FIXTURES = Path(__file__).parent / "fixtures" / "django-helpdesk"
SECRET = "s3cret-token-of-32-characters-xx"
NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
SCHEMA = "webhook.django-helpdesk.schema.json"


def adapter(secret: str = SECRET, **kw) -> DjangoHelpdeskAdapter:
    return DjangoHelpdeskAdapter(PlatformSettings("django-helpdesk", "http://127.0.0.1:1", secret, **kw))


def delivery(name: str, token: str | None = SECRET) -> Delivery:
    headers = json.loads((FIXTURES / f"{name}.headers.json").read_text())
    return Delivery(headers, (FIXTURES / f"{name}.json").read_bytes(), token)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def test_registry_knows_the_platform():
    assert adapter_class("django-helpdesk") is DjangoHelpdeskAdapter
    assert DjangoHelpdeskAdapter.schema_name() == SCHEMA


@pytest.mark.parametrize(
    "secret, token, ok",
    [
        (SECRET, SECRET, True),
        (SECRET, SECRET[:-1] + "y", False),  # one character off
        (SECRET, SECRET + "x", False),
        (SECRET, None, False),  # no ?token= at all
        (SECRET, "", False),
        ("", "", False),  # no secret configured: fail closed, even for an empty token
        ("", SECRET, False),
        (SECRET, "s3cret-tokén", False),  # non-ASCII does not crash the comparison
    ],
)
def test_verify_token(secret, token, ok):
    check = lambda: adapter(secret).verify(delivery("ticket_created", token), secret, NOW)  # noqa: E731
    if ok:
        check()
    else:
        with pytest.raises(Unauthorized):
            check()


# name -> (kind, ticket id, occurred at)
CAPTURED = {
    "ticket_created": ("ticket.created", "1", "2026-11-24T14:45:03.094125Z"),
    "followup_created__public_staff": ("followup.created", "1", "2026-11-24T14:45:12.280310Z"),
    "followup_created__private_staff": ("followup.created", "1", "2026-11-24T14:45:12.318504Z"),
    "followup_created__resolved": ("followup.created", "1", "2026-11-24T14:45:12.355920Z"),
    "followup_created__reopened": ("followup.created", "1", "2026-11-24T14:45:12.390923Z"),
    "followup_created__public_customer": ("followup.created", "1", "2026-11-24T14:45:17.704948Z"),
    "followup_created__closed_private": ("followup.created", "1", "2026-11-24T14:45:27.663284Z"),
}


@pytest.mark.parametrize("name", sorted(CAPTURED))
def test_captured_payloads_are_valid_and_parse(name):
    d = delivery(name)
    payload = json.loads(d.body)
    validate(SCHEMA, payload, name)
    event = adapter().parse(d, payload)
    kind, ticket_id, when = CAPTURED[name]
    assert (event.platform, event.kind, event.ticket_id, event.occurred_at) == (
        "django-helpdesk",
        kind,
        ticket_id,
        at(when),
    )
    assert event.delivery_id == d.content_hash


def test_the_same_body_is_the_same_delivery_and_another_is_not():
    a, b = delivery("followup_created__public_staff"), delivery("followup_created__private_staff")
    assert adapter().parse(a, json.loads(a.body)).delivery_id == a.content_hash != b.content_hash


@pytest.mark.parametrize("name", sorted(p.stem for p in FIXTURES.glob("malformed__*.json")))
def test_malformed_payloads_are_refused(name):
    """Each is either not JSON or fails the schema: the web layer answers 400 before parse."""
    body = (FIXTURES / f"{name}.json").read_bytes()
    try:
        payload = json.loads(body)
    except json.JSONDecodeError:
        assert name == "malformed__truncated"
        return
    with pytest.raises(ValidationFailed):
        validate(SCHEMA, payload, name)


def test_parse_without_a_ticket_is_bad_input():
    with pytest.raises(BadInput):
        adapter().parse(delivery("ticket_created"), {"queue_slug": "support"})


def test_parse_tolerates_a_followup_id_not_in_the_list():
    d = delivery("followup_created__public_staff")
    payload = json.loads(d.body) | {"followup_id": 999}
    event = adapter().parse(d, payload)
    assert (event.kind, event.occurred_at) == ("followup.created", None)


def _ticket_doc(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_bytes())["ticket"]


def test_reading_a_ticket_history():
    """The last capture holds the whole story: opened, public reply, note, resolved, reopened,
    customer's reply, closed."""
    doc = _ticket_doc("followup_created__closed_private")
    ticket = to_ticket(doc, {}, {})
    assert ticket.created_at == at("2026-11-24T14:45:03.094125Z")
    assert ticket.requester_email == "ivan@customer.example"
    assert (ticket.product, ticket.request_type, ticket.topic, ticket.organisation_id) == (
        "kompas-3d",
        "error",
        None,
        None,
    )
    assert ticket.channel is None  # typed in by staff (the API user)
    assert [(s.at, s.status) for s in ticket.statuses] == [
        (at("2026-11-24T14:45:03.094125Z"), TicketStatus.OPEN),
        (at("2026-11-24T14:45:12.355920Z"), TicketStatus.SOLVED),
        (at("2026-11-24T14:45:12.390923Z"), TicketStatus.OPEN),
        (at("2026-11-24T14:45:27.663284Z"), TicketStatus.CLOSED),
    ]
    # Not the opening follow-up (public, by the staff user who typed the ticket in): the reply.
    assert ticket.first_response_at == at("2026-11-24T14:45:12.280310Z")
    # Set by a PATCH during the capture (which sent no webhook).
    assert ticket.carried == Carried(tier="warranty", resolution_due=at("2026-11-26T12:00:00Z"))


def test_customer_replies_and_private_notes_are_not_first_responses():
    doc = _ticket_doc("followup_created__closed_private")
    doc["followup_set"] = [f for f in doc["followup_set"] if f["id"] in (1, 3, 6)]  # opening, note, customer
    assert to_ticket(doc, {}, {}).first_response_at is None


def test_status_changed_without_a_followup_is_seen_now():
    doc = _ticket_doc("ticket_created") | {"status": 3}
    ticket = to_ticket(doc, {}, {})
    assert ticket.status is TicketStatus.SOLVED and ticket.status_since is None
    now = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    statuses = ticket.status_history(now)  # the core: a status the history does not show began at `now`
    assert [s.status for s in statuses] == [TicketStatus.OPEN, TicketStatus.SOLVED]
    assert statuses[-1].at == now


def test_an_added_waiting_status_maps_through_options():
    doc = _ticket_doc("followup_created__resolved")
    doc["followup_set"][-1]["new_status"] = 6
    doc["status"] = 6
    ticket = to_ticket(doc, {}, {"statuses": {"6": "pending"}})
    assert ticket.statuses[-1].status is TicketStatus.PENDING


def test_a_wrong_status_option_is_a_config_error():
    with pytest.raises(BadInput, match="options.statuses"):
        to_ticket(_ticket_doc("ticket_created"), {}, {"statuses": {"6": "waiting"}})


def test_reading_carried_fields_renamed_fields_and_the_empty_marker():
    doc = _ticket_doc("ticket_created") | {
        "due_date": "2026-11-26T12:00:00Z",
        "custom_sla_tier": "warranty",
        "custom_tier": "ignored",
        "custom_first_response_due": "2026-11-25T09:00:00+00:00",
        "custom_flags": "b_flag,a_flag",
        "custom_request_type": "Information",
        "custom_topic": "functionality",
        "assigned_to": 7,
    }
    ticket = to_ticket(doc, {"tier": "sla_tier"}, {"user_ids": {"eng@vendor.example": 7}})
    assert ticket.carried == Carried(
        "warranty",
        at("2026-11-25T09:00:00Z"),
        at("2026-11-26T12:00:00Z"),
        frozenset({"a_flag", "b_flag"}),
        "eng@vendor.example",
    )
    assert (ticket.request_type, ticket.topic) == ("information", "functionality")
    emptied = to_ticket(_ticket_doc("ticket_created") | {"custom_tier": "-", "custom_flags": "-"}, {}, {})
    assert emptied.carried == Carried()


def test_a_ticket_without_followups_is_refused():
    with pytest.raises(PlatformRejected, match="no follow-up"):
        to_ticket(_ticket_doc("ticket_created") | {"followup_set": []}, {}, {})


DESIRED = Carried(
    "warranty", datetime(2026, 11, 25, 9, tzinfo=UTC), None, frozenset({"x_two", "x_one"}), "eng@vendor.example"
)
CUSTOM = frozenset({"tier", "first_response_due", "resolution_due", "flags"})


@pytest.mark.parametrize(
    "changed, fields, options, body",
    [
        (set(), {}, {}, {}),
        ({"tier"}, {}, {}, {"custom_tier": "warranty"}),
        ({"tier"}, {"tier": "sla_tier"}, {}, {"custom_sla_tier": "warranty"}),
        ({"first_response_due"}, {}, {}, {"custom_first_response_due": "2026-11-25T09:00:00+00:00"}),
        ({"resolution_due"}, {}, {}, {"due_date": None, "custom_resolution_due": "-"}),
        ({"resolution_due"}, {"resolution_due": "absent"}, {}, {"due_date": None}),  # no mirror field
        ({"flags"}, {}, {}, {"custom_flags": "x_one,x_two"}),
        ({"assignee"}, {}, {}, {}),  # the engineer has no known helpdesk user id
        ({"assignee"}, {}, {"user_ids": {"eng@vendor.example": 7}}, {"assigned_to": 7}),
    ],
)
def test_patch_body(changed, fields, options, body):
    assert patch_body(DESIRED, frozenset(changed), fields, options, CUSTOM) == body


def test_due_date_is_the_resolution_due_in_utc():
    desired = Carried(resolution_due=datetime.fromisoformat("2026-11-26T15:00:00+03:00"))
    assert (
        patch_body(desired, frozenset({"resolution_due"}), {}, {}, frozenset())["due_date"]
        == "2026-11-26T12:00:00+00:00"
    )


def test_note_is_private_and_cannot_inject_template_tags():
    from connector.core.ticket import Ticket

    ticket = Ticket("django-helpdesk", "5", NOW, None)
    assert note_body(ticket, "Tier: basic {{ ticket.secret_key }}") == {
        "ticket": 5,
        "comment": "Tier: basic { { ticket.secret_key } }",
        "public": False,
    }


@pytest.mark.parametrize(
    "credentials, header, auth",
    [
        ({"token": "abc"}, "Token abc", None),
        ({"username": "u", "password": "p"}, None, ("u", "p")),
    ],
)
def test_client_for(credentials, header, auth):
    client = DjangoHelpdeskAdapter.client_for(PlatformSettings("django-helpdesk", "http://h/", credentials=credentials))
    assert (client.base_url, client.headers.get("Authorization"), client.auth) == ("http://h", header, auth)


def test_client_for_without_credentials_is_a_config_error():
    with pytest.raises(BadInput, match="credentials"):
        DjangoHelpdeskAdapter.client_for(PlatformSettings("django-helpdesk", "http://h/"))


def test_install_says_what_to_add_without_the_secret():
    lines = adapter().install("https://connector.example/webhooks/django-helpdesk", apply=True)
    text = "\n".join(lines)
    assert "HELPDESK_GET_NEW_TICKET_WEBHOOK_URLS" in text and "HELPDESK_GET_FOLLOWUP_WEBHOOK_URLS" in text
    assert "?token=<webhook secret>" in text and SECRET not in text


def test_sample_delivery_is_accepted_and_parses():
    a = adapter()
    headers, body, token = a.sample_delivery("42", NOW)
    d = Delivery({k.lower(): v for k, v in headers.items()}, body, token)
    a.verify(d, a.settings.webhook_secret, NOW)
    payload = json.loads(body)
    validate(SCHEMA, payload, "sample")
    event = a.parse(d, payload)
    assert (event.kind, event.ticket_id, event.occurred_at) == ("ticket.created", "42", NOW)
    assert a.sample_delivery("42", NOW.replace(microsecond=1))[1] != body  # a new delivery each time
