"""The policy read right (issue 10), each rule against a small registry in memory: identification
order and conflicts, a purchase making a licensed user, a contract's additional channels, an
information request with no topic, the flags a support manager needs, the individual tier's KB
access, whole-second due moments, and the dedicated engineer never taking a ticket back."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta

import pytest
import pytz

from connector.config.calendars import build_calendar
from connector.config.rules import rulebook
from connector.core.entitlement import EntitlementRequest, resolve
from connector.core.entitlement_json import as_json
from connector.core.ticket import Carried, Target, Ticket, plan_write_back
from connector.core.tiers import Tier
from connector.registry.memory import MemoryRegistry

RULES = rulebook()
MSK = pytz.timezone("Europe/Moscow")
BASE = {
    "products": [
        {"code": "KOMPAS", "name": "KOMPAS-3D"},
        {"code": "VERT", "name": "Vertikal"},
        {"code": "PILOT", "name": "Pilot-ICE"},
    ],
    "customers": [
        {"id": "C-NORTH", "name": "North", "email_domains": ["north.example"], "platform_ids": {"zendesk": "77"}},
        {
            "id": "C-SOUTH",
            "name": "South",
            "email_domains": ["south.example", "shared.example"],
            "platform_ids": {"zendesk": "88"},
        },
        {"id": "C-EAST", "name": "East", "email_domains": ["shared.example"]},
    ],
    "contacts": [{"email": "nina@north.example", "customer": "C-NORTH"}],
    "licenses": [{"customer": "C-SOUTH", "product": "KOMPAS", "since": "2020-01-01"}],
    "purchases": [{"customer": "C-NORTH", "product": "KOMPAS", "kind": "product", "date": "2023-05-10"}],
    "contracts": [],
}


def at(day: str, time: str = "12:00") -> datetime:
    return MSK.localize(datetime.fromisoformat(f"{day}T{time}"))


def registry(**changes) -> MemoryRegistry:
    doc = copy.deepcopy(BASE)
    for name, rows in changes.items():
        doc[name] = doc[name] + rows
    return MemoryRegistry.from_document(doc)


def ask(reg, email, when="2025-06-02", product="KOMPAS", **kw):
    return resolve(EntitlementRequest(email, at(when) if isinstance(when, str) else when, product, **kw), reg, RULES)


# -- identification ----------------------------------------------------------------------------


def test_an_ambiguous_domain_gives_way_to_the_organisation_the_admin_mapped():
    result = ask(registry(), "newcomer@shared.example", platform="zendesk", org_id="88")
    assert (result.customer.id, result.matched_by) == ("C-SOUTH", "platform")
    assert "ambiguous_customer" not in result.flag_codes and result.tier == Tier.BASIC


def test_a_domain_and_an_organisation_naming_different_customers_resolve_by_the_organisation():
    result = ask(registry(), "someone@north.example", platform="zendesk", org_id="88")
    assert result.customer.id == "C-SOUTH"
    conflict = next(f for f in result.flags if f.code == "customer_conflict")
    assert "C-SOUTH" in conflict.explanation and "C-NORTH" in conflict.explanation


def test_the_contact_still_comes_first():
    assert ask(registry(), "nina@north.example", platform="zendesk", org_id="88").customer.id == "C-NORTH"


# -- tiers -------------------------------------------------------------------------------------


def test_a_purchase_makes_a_licensed_user_after_the_warranty_too():
    """North bought KOMPAS on 2023-05-10 and has no license row: warranty through 2024-05-10,
    then basic (a buyer is a licensed user), not tier none."""
    reg = registry()
    assert ask(reg, "nina@north.example", "2024-05-10").tier == Tier.WARRANTY
    after = ask(reg, "nina@north.example", "2024-05-11")
    assert after.tier == Tier.BASIC and "since the purchase of KOMPAS on 2023-05-10" in " ".join(after.reasons)
    assert ask(reg, "nina@north.example", "2023-05-09").tier == Tier.NONE  # before the purchase


def test_license_rows_say_otherwise_than_purchases():
    reg = registry(licenses=[{"customer": "C-NORTH", "product": "KOMPAS", "since": "2025-01-01"}])
    assert ask(reg, "nina@north.example", "2024-06-01").tier == Tier.NONE  # licensed only from 2025
    assert ask(reg, "nina@north.example", "2025-01-01").tier == Tier.BASIC


def test_a_contract_adds_its_channels_to_the_standard_ones():
    contract = {
        "number": "S-1",
        "customer": "C-SOUTH",
        "counterparty": "dealer",
        "starts": "2025-01-01",
        "ends": "2025-12-31",
        "products": ["KOMPAS"],
        "sla": {"first_response_hours": 4, "resolution_hours": 16, "channels": ["messenger"]},
    }
    reg = registry(contracts=[contract])
    for channel in ("portal", "phone", "messenger", "remote"):
        assert "outside_tier_scope" not in ask(reg, "x@south.example", channel=channel).flag_codes, channel


def test_an_information_request_with_no_topic_is_about_functionality():
    basic = ask(registry(), "x@south.example", request_type="information")
    assert basic.tier == Tier.BASIC and "outside_tier_scope" in basic.flag_codes
    assert "functionality" in next(f for f in basic.flags if f.code == "outside_tier_scope").explanation
    assert (
        "outside_tier_scope"
        not in ask(registry(), "nina@north.example", "2023-06-01", request_type="information").flag_codes
    )  # warranty covers it


# -- flags -------------------------------------------------------------------------------------


def contract(number="S-9", ends="2025-06-30", products=("KOMPAS",), **sla):
    return {
        "number": number,
        "customer": "C-SOUTH",
        "counterparty": "central",
        "starts": "2025-01-01",
        "ends": ends,
        "products": "*" if products == "*" else list(products),
        "sla": {"first_response_hours": 4, "resolution_hours": 16, **sla},
    }


@pytest.mark.parametrize("day, flagged", [("2025-05-31", False), ("2025-06-01", True), ("2025-06-30", True)])
def test_a_contract_ending_within_30_days_is_flagged(day, flagged):
    assert (
        "contract_expiring_soon" in ask(registry(contracts=[contract()]), "x@south.example", day).flag_codes
    ) is flagged


def test_a_known_customer_with_nothing_for_the_product_says_why():
    result = ask(registry(), "x@south.example", product="VERT")
    assert result.tier == Tier.NONE and "no_coverage" in result.flag_codes
    assert "holds no license, purchase or contract for VERT" in result.flags[-1].explanation
    ended = ask(registry(contracts=[contract(products=["VERT"])]), "x@south.example", "2025-08-01", product="VERT")
    assert (
        "contract S-9 ran 2025-01-01 to 2025-06-30"
        in next(f for f in ended.flags if f.code == "no_coverage").explanation
    )


def test_a_contract_worse_than_the_free_tier_is_flagged_and_the_earlier_due_applies():
    reg = registry(
        contracts=[contract(first_response_hours=40, resolution_hours=None)],
        purchases=[{"customer": "C-SOUTH", "product": "KOMPAS", "kind": "product", "date": "2025-03-01"}],
    )
    result = ask(reg, "x@south.example", "2025-06-02")
    assert result.tier == Tier.INDIVIDUAL and "contract_below_standard" in result.flag_codes
    assert result.first_response.basis == "warranty" and result.first_response.hours == 8
    assert result.resolution.basis == "warranty"  # the contract regulates none: the warranty's 40 hours


def test_an_all_products_contract_used_for_an_unlicensed_product():
    reg = registry(contracts=[contract(products="*")])
    result = ask(reg, "x@south.example", product="PILOT")
    assert result.tier == Tier.INDIVIDUAL and "unlicensed_product" in result.flag_codes
    assert "unlicensed_product" not in ask(reg, "x@south.example", product="KOMPAS").flag_codes


def test_a_paying_customer_keeps_the_warrantys_kb_access_while_it_runs():
    reg = registry(
        contracts=[contract(ends="2026-12-31", kb_access=False)],
        purchases=[{"customer": "C-SOUTH", "product": "KOMPAS", "kind": "product", "date": "2025-03-01"}],
    )
    during = ask(reg, "x@south.example", "2025-06-02")
    assert during.tier == Tier.INDIVIDUAL and during.kb_access and during.kb.granted
    after = ask(reg, "x@south.example", "2026-03-02")  # the warranty ran through 2026-03-01
    assert after.tier == Tier.INDIVIDUAL and not after.kb.granted  # now the contract's kb_access decides


# -- due moments and the engineer ----------------------------------------------------------------


def test_due_moments_are_whole_seconds_in_the_vendor_zone_also_on_24x7():
    reg = registry(contracts=[contract(calendar="24x7")])
    doc = as_json(
        ask(reg, "x@south.example", MSK.localize(datetime(2025, 6, 2, 12, 0, 0, 123456))), RULES.vendor_calendar.zone
    )
    assert doc["first_response_due"] == "2025-06-02T16:00:00+03:00"  # 4 hours on 24x7, shown in Moscow time
    assert doc["resolution_due"] == "2025-06-03T04:00:00+03:00"


def ticket(assignee=None, tier=None) -> Ticket:
    return Ticket("p", "1", at("2025-06-02"), "x@south.example", carried=Carried(tier=tier, assignee=assignee))


@pytest.mark.parametrize(
    "carried, tier, expected",
    [
        (dict(), "individual", "eng@vendor.example"),  # no assignee: assign
        (dict(assignee="agent@vendor.example"), "individual", "eng@vendor.example"),  # the tier first set: assign
        (dict(assignee="cover@vendor.example", tier="individual"), "individual", "cover@vendor.example"),  # reassigned
        (dict(tier="individual"), "individual", "eng@vendor.example"),  # unassigned later: assign again
    ],
)
def test_the_dedicated_engineer_never_takes_a_ticket_back(carried, tier, expected):
    target = Target(timedelta(hours=4), build_calendar("default"))
    plan = plan_write_back(ticket(**carried), tier, (), "eng@vendor.example", target, target, at("2025-06-02", "13:00"))
    assert plan.desired.assignee == expected
    assert ("assignee" in plan.changed) is (expected != carried.get("assignee"))
