"""Freshdesk's KB lever (the closed folders' company lists, read-modify-write, within 1..250),
portal registration (a contact in its company) and SLA alerts, against strict `responses`."""

from __future__ import annotations

from datetime import date

import pytest
import responses

from connector.core.errors import BadInput
from connector.core.kb_access import GRANT, REVOKE, AccessChange
from connector.platforms.base import Alert
from tests.support.http import all_fired_then_reset
from tests.support.saas import Platform

FD = Platform("freshdesk")
FOLDER = "/api/v2/solutions/folders/3100"


def kb(**options):
    return FD.adapter(options={"kb_folder_ids": [3100], **options})


def grant(email, customer="C-ZEN"):
    return AccessChange(
        email, GRANT, "contract SLA-Z-2024 includes KB access", customer, date(2024, 1, 1), date(2024, 12, 31)
    )


def revoke(email, customer="C-KBV"):
    return AccessChange(email, REVOKE, "the warranty of kompas_3d has ended", customer)


def contact(email, company, number=9100):
    return [{**FD.answer("contact_9001"), "id": number, "email": email, "company_id": company}]


def folder(companies, visibility=4):
    return {**FD.answer("solution_folder_3100"), "visibility": visibility, "company_ids": companies}


def test_without_closed_folders_there_is_no_kb_lever():
    assert FD.adapter().supports == {"alert", "portal"} and kb().supports == {"alert", "kb", "portal"}


@responses.activate(assert_all_requests_are_fired=True)
def test_the_holders_are_the_contacts_of_the_listed_companies_but_the_kept_ones():
    FD.expect("GET", FOLDER, folder([4001, 4999]))
    FD.expect(
        "GET", "/api/v2/contacts", [FD.answer("contact_9001")], {"company_id": "4001", "page": "1", "per_page": "100"}
    )
    assert kb(kb_keep_company_ids=[4999]).kb_holders() == {"pavel.ivanov@kb-vektor.example"}


@responses.activate(assert_all_requests_are_fired=True)
def test_a_grant_adds_the_contacts_company_to_the_list_as_freshdesk_has_it_now():
    FD.expect("GET", FOLDER, "solution_folder_3100")
    FD.expect(
        "GET",
        "/api/v2/contacts",
        contact("elena.kuznetsova@npo-zenit.example", 4002),
        {"email": "elena.kuznetsova@npo-zenit.example"},
    )
    FD.expect(
        "GET",
        "/api/v2/contacts",
        contact("pavel.ivanov@kb-vektor.example", 4001),
        {"email": "pavel.ivanov@kb-vektor.example"},
    )
    put = FD.expect(
        "PUT", FOLDER, "solution_folder_3100_updated", body=FD.answer("solution_folder_3100_update__request")
    )
    outcomes = list(
        kb().apply_access(
            [grant("elena.kuznetsova@npo-zenit.example"), grant("pavel.ivanov@kb-vektor.example", "C-KBV")]
        )
    )
    assert [(o.ok, o.detail) for o in outcomes] == [
        (True, "granted (company 4002 is in the closed folders)"),
        (True, "already"),
    ]
    assert put.call_count == 1


@responses.activate(assert_all_requests_are_fired=True)
def test_a_grant_without_a_company_fails_saying_how_to_fix_it():
    FD.expect("GET", FOLDER, "solution_folder_3100")
    FD.expect("GET", "/api/v2/contacts", [], {"email": "new@npo-zenit.example"})
    FD.expect("GET", "/api/v2/contacts", contact("solo@npo-zenit.example", None), {"email": "solo@npo-zenit.example"})
    outcomes = list(kb().apply_access([grant("new@npo-zenit.example"), grant("solo@npo-zenit.example")]))
    assert [o.ok for o in outcomes] == [False, False]
    assert outcomes[0].detail.startswith("not a Freshdesk contact yet: the closed folders open per company")
    assert outcomes[1].detail.startswith("the contact has no company")


@responses.activate(assert_all_requests_are_fired=True)
def test_a_revoke_takes_the_company_out_unless_that_would_leave_the_folder_empty():
    FD.expect("GET", FOLDER, folder([4001, 4002]))
    FD.expect(
        "GET",
        "/api/v2/contacts",
        contact("pavel.ivanov@kb-vektor.example", 4001),
        {"email": "pavel.ivanov@kb-vektor.example"},
    )
    FD.expect("PUT", FOLDER, folder([4002]), body={"visibility": 4, "company_ids": [4002]})
    [done] = kb().apply_access([revoke("pavel.ivanov@kb-vektor.example")])
    assert (done.ok, done.detail) == (True, "revoked (company 4001 left the closed folders)")
    all_fired_then_reset()
    FD.expect("GET", FOLDER, folder([4001]))
    FD.expect(
        "GET",
        "/api/v2/contacts",
        contact("pavel.ivanov@kb-vektor.example", 4001),
        {"email": "pavel.ivanov@kb-vektor.example"},
    )
    [refused] = kb().apply_access([revoke("pavel.ivanov@kb-vektor.example")])
    assert not refused.ok and "would list no company; Freshdesk needs at least one" in refused.detail


@responses.activate(assert_all_requests_are_fired=True)
def test_a_contact_unknown_to_the_registry_cannot_take_its_colleagues_access_away():
    FD.expect("GET", FOLDER, folder([4001]))
    FD.expect(
        "GET",
        "/api/v2/contacts",
        contact("stranger@kb-vektor.example", 4001, 9200),
        {"email": "stranger@kb-vektor.example"},
    )
    FD.expect(
        "GET",
        "/api/v2/contacts",
        contact("pavel.ivanov@kb-vektor.example", 4001) + contact("stranger@kb-vektor.example", 4001, 9200),
        {"company_id": "4001", "page": "1", "per_page": "100"},
    )
    [outcome] = kb().apply_access([revoke("stranger@kb-vektor.example", None)])
    assert not outcome.ok and "company 4001 keeps the closed folders for its other contacts" in outcome.detail


@responses.activate(assert_all_requests_are_fired=True)
def test_the_250_company_cap_fails_clearly_and_writes_nothing():
    FD.expect("GET", FOLDER, folder(list(range(5000, 5250))))
    FD.expect(
        "GET",
        "/api/v2/contacts",
        contact("elena.kuznetsova@npo-zenit.example", 4002),
        {"email": "elena.kuznetsova@npo-zenit.example"},
    )
    [outcome] = kb().apply_access([grant("elena.kuznetsova@npo-zenit.example")])
    assert not outcome.ok and "would list 251 companies; Freshdesk allows 250" in outcome.detail


@responses.activate(assert_all_requests_are_fired=True)
def test_a_folder_not_visible_to_selected_companies_is_a_clear_error():
    FD.expect("GET", FOLDER, folder([], visibility=2))
    with pytest.raises(BadInput, match="folder 3100 is not visible to selected companies"):
        kb().kb_holders()


@responses.activate(assert_all_requests_are_fired=True)
def test_registration_finds_or_creates_the_company_and_the_contact():
    FD.expect("GET", "/api/v2/companies/autocomplete", "companies_autocomplete_none", {"name": "NPO Zenit"})
    FD.expect("POST", "/api/v2/companies", "company_created_4002", body={"name": "NPO Zenit"}, status=201)
    FD.expect("GET", "/api/v2/contacts", [], {"email": "elena.kuznetsova@npo-zenit.example"})
    FD.expect(
        "POST",
        "/api/v2/contacts",
        {**FD.answer("contact_9001"), "id": 9002},
        status=201,
        body={"name": "Elena Kuznetsova", "email": "elena.kuznetsova@npo-zenit.example", "company_id": 4002},
    )
    assert (
        FD.adapter().register_portal_user(
            "elena.kuznetsova@npo-zenit.example", "Elena Kuznetsova", "C-ZEN", "NPO Zenit", None
        )
        == "created company 4002 (NPO Zenit); created contact 9002 for elena.kuznetsova@npo-zenit.example"
        " in company 4002"
    )


@responses.activate(assert_all_requests_are_fired=True)
def test_registration_puts_a_companyless_contact_in_its_company_and_then_does_nothing():
    FD.expect(
        "GET",
        "/api/v2/contacts",
        [{**FD.answer("contact_9001"), "company_id": None}],
        {"email": "pavel.ivanov@kb-vektor.example"},
    )
    FD.expect("PUT", "/api/v2/contacts/9001", "contact_9001", body={"company_id": 4001})
    FD.expect("GET", "/api/v2/companies/autocomplete", "companies_autocomplete_kb", {"name": "KB Vektor"})
    FD.expect("GET", "/api/v2/contacts", [FD.answer("contact_9001")], {"email": "pavel.ivanov@kb-vektor.example"})
    a = FD.adapter()
    assert (
        a.register_portal_user("pavel.ivanov@kb-vektor.example", None, "C-KBV", "KB Vektor", "4001")
        == "put contact 9001 (pavel.ivanov@kb-vektor.example) in company 4001"
    )
    assert a.register_portal_user("pavel.ivanov@kb-vektor.example", None, "C-KBV", "KB Vektor", None) is None


@responses.activate(assert_all_requests_are_fired=True)
def test_an_alert_adds_its_tags_to_the_tickets_sets_the_priority_and_leaves_a_private_note():
    FD.expect("GET", "/api/v2/tickets/123", "ticket_123")
    FD.expect(
        "PUT",
        "/api/v2/tickets/123",
        "ticket_123_updated",
        body={"tags": ["kompas", "sla-warranty", "sla_breached_resolution"], "priority": 4},
    )
    FD.expect(
        "POST",
        "/api/v2/tickets/123/notes",
        "ticket_123_note_created",
        status=201,
        body={"body": "<div>SLA breached: the resolution target was exceeded.<br>Act now.</div>", "private": True},
    )
    assert FD.adapter().alert(
        Alert(
            "123", ("sla_breached_resolution",), "SLA breached: the resolution target was exceeded.\nAct now.", "urgent"
        )
    )
    all_fired_then_reset()  # nothing is called for a priority Freshdesk has no code for
    with pytest.raises(BadInput, match="Freshdesk priorities are 1-4"):
        FD.adapter().alert(Alert("123", ("x",), None, "critical"))
