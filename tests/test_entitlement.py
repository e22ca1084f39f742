"""The resolution rules of issue 3, each rule and boundary, on the registry fixture (in memory).

The fixture (tests/fixtures/registry/registry.json): Alpha bought KOMPAS on 2024-03-15 (warranty
through 2025-03-15, the Civil Code's way) and holds LOTS (withdrawn on 2025-03-03); Beta bought KOMPAS on
2024-02-29; Gamma has a 24x7 contract for every product from 2025-01-01 to 2025-06-30; Delta's contract D-17 is
weaker than its warranty; shared.ru belongs to Beta and Gamma.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
import pytz

from connector.config.rules import rulebook
from connector.core.coverage import add_months
from connector.core.entitlement import EntitlementRequest, resolve
from connector.core.entitlement_json import as_json as entitlement_json
from connector.core.errors import BadInput
from connector.core.tiers import Tier
from connector.registry.memory import MemoryRegistry

RULES = rulebook()


def as_json(result):
    """The entitlement JSON, moments in the vendor's zone."""
    return entitlement_json(result, RULES.vendor_calendar.zone)


REGISTRY_JSON = Path(__file__).parent / "fixtures" / "registry" / "registry.json"
MSK = pytz.timezone("Europe/Moscow")


@pytest.fixture(scope="module")
def registry() -> MemoryRegistry:
    return MemoryRegistry.from_file(REGISTRY_JSON)


def at(text: str) -> datetime:
    """A Moscow moment; a bare date means noon that day."""
    moment = datetime.fromisoformat(text if "T" in text else f"{text}T12:00")
    return MSK.localize(moment) if moment.tzinfo is None else moment


def ask(registry, email: str, when: str = "2025-03-03", product: str | None = "KOMPAS", **kw):
    return resolve(EntitlementRequest(email, at(when), product, **kw), registry, rulebook())


# -- who is asking ---------------------------------------------------------------------------


def test_contact_email_matches_case_insensitively(registry):
    result = ask(registry, "GLEB@gamma.EXAMPLE", product="VERT")
    assert result.customer.id == "C-GAMMA" and result.matched_by == "contact"


def test_domain_identifies_the_customer_when_no_contact(registry):
    result = ask(registry, "new.person@Alpha.ru")
    assert (result.customer.id, result.matched_by, result.tier) == ("C-ALPHA", "domain", Tier.WARRANTY)


def test_a_contact_beats_an_ambiguous_domain(registry):
    assert ask(registry, "eve@shared.ru").customer.id == "C-BETA"


def test_two_customers_on_one_domain_is_ambiguous_and_tier_none(registry):
    result = ask(registry, "someone@shared.ru")
    assert result.tier == Tier.NONE and result.customer is None
    assert result.flag_codes == ["ambiguous_customer"]
    assert "C-BETA, C-GAMMA" in result.flags[0].explanation


@pytest.mark.parametrize("platform", ["zendesk", None])
def test_platform_organisation_id_comes_last(registry, platform):
    result = ask(registry, "x@elsewhere.example", org_id="1001", platform=platform)
    assert (result.customer.id, result.matched_by) == ("C-ALPHA", "platform")


def test_organisation_on_another_platform_does_not_match(registry):
    assert ask(registry, "x@elsewhere.example", org_id="1001", platform="jira").flag_codes == ["unknown_requester"]


def test_unknown_requester_gets_tier_none_with_a_reason(registry):
    result = ask(registry, "stranger@nowhere.example")
    assert result.tier == Tier.NONE and result.flag_codes == ["unknown_requester"]
    assert result.first_response is None and result.resolution is None and not result.kb_access


# -- warranty ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "when, tier, valid_until",
    [
        ("2025-03-14", Tier.WARRANTY, date(2025, 3, 15)),
        ("2025-03-15", Tier.WARRANTY, date(2025, 3, 15)),  # the anniversary: the year's last day (art. 192)
        ("2025-03-15T23:59:59", Tier.WARRANTY, date(2025, 3, 15)),
        ("2025-03-15T21:30:00+00:00", Tier.BASIC, None),  # already Mar 16 in Moscow
        ("2025-03-16", Tier.BASIC, None),  # no longer covered
        ("2024-03-15", Tier.WARRANTY, date(2025, 3, 15)),  # the purchase day itself
    ],
)
def test_warranty_covers_from_the_purchase_day_through_the_anniversary(registry, when, tier, valid_until):
    """Civil Code art. 191-192: the year runs from the day after the purchase and expires on the
    corresponding day of the next year, which is still covered."""
    result = ask(registry, "ann@alpha.ru", when)
    assert (result.tier, result.valid_until) == (tier, valid_until)


@pytest.mark.parametrize("when, tier", [("2025-02-28", Tier.WARRANTY), ("2025-03-01", Tier.BASIC)])
def test_a_feb_29_purchase_runs_through_feb_28(registry, when, tier):
    """A year from 2024-02-29 has no Feb 29 to end on: it ends on the month's last day (art. 192)."""
    assert ask(registry, "bob@beta.ru", when).tier == tier


def test_a_missing_day_is_the_months_last_day():
    assert add_months(date(2024, 2, 29), 12) == date(2025, 2, 28)
    assert add_months(date(2028, 2, 29), 48) == date(2032, 2, 29)
    assert add_months(date(2025, 1, 31), 1) == date(2025, 2, 28)
    assert add_months(date(2025, 3, 31), 1) == date(2025, 4, 30)
    assert add_months(date(2025, 12, 15), 12) == date(2026, 12, 15)


def test_the_latest_purchase_counts(registry):
    early = ask(registry, "ann@alpha.ru", "2023-06-01")  # the 2023-01-10 update package
    assert early.tier == Tier.WARRANTY and "update package" in " ".join(early.reasons)
    gap = ask(registry, "ann@alpha.ru", "2024-02-01")  # that year ended, the next purchase is later
    assert gap.tier == Tier.BASIC and any("has ended" in r for r in gap.reasons)


@pytest.mark.parametrize("when, flagged", [("2025-02-13", False), ("2025-02-14", True), ("2025-03-15", True)])
def test_warranty_expiring_soon_within_30_days(registry, when, flagged):
    assert ("warranty_expiring_soon" in ask(registry, "ann@alpha.ru", when).flag_codes) is flagged


def test_warranty_targets_and_kb_access(registry):
    result = ask(registry, "ann@alpha.ru", "2025-02-03")  # a Monday
    assert (result.first_response.hours, result.resolution.hours, result.kb_access) == (8, 40, True)
    assert result.first_response.due == at("2025-02-04T12:00")


# -- basic and withdrawal ----------------------------------------------------------------------


def test_basic_has_16_hours_first_response_and_no_resolution_deadline(registry):
    result = ask(registry, "ann@alpha.ru", "2025-04-07")
    assert result.tier == Tier.BASIC and result.first_response.hours == 16 and result.resolution is None
    assert result.first_response.due == at("2025-04-09T12:00") and not result.kb_access


@pytest.mark.parametrize(
    "when, tier, flags",
    [
        # the KOMPAS warranty (and with it the closed KB) ends after 2025-03-15: flagged on a LOTS ticket too
        ("2025-03-02", Tier.BASIC, ["kb_access_ending"]),  # the day before the withdrawal
        ("2025-03-03T00:00", Tier.NONE, ["product_withdrawn", "kb_access_ending"]),  # the withdrawal day
        ("2025-09-01", Tier.NONE, ["product_withdrawn"]),
    ],
)
def test_withdrawal_ends_basic_support_on_its_day(registry, when, tier, flags):
    result = ask(registry, "ann@alpha.ru", when, product="LOTS")
    assert (result.tier, result.flag_codes) == (tier, flags)
    if tier == Tier.BASIC:
        assert result.valid_until == date(2025, 3, 2)


def test_no_license_no_purchase_no_contract_is_none(registry):
    result = ask(registry, "ann@alpha.ru", product="PILOT")
    assert result.tier == Tier.NONE and result.customer.id == "C-ALPHA"
    assert result.flag_codes == ["no_coverage", "kb_access_ending"]  # the KOMPAS warranty's KB ends 2025-03-15
    assert "holds no license, purchase or contract for PILOT" in result.flags[0].explanation
    assert result.kb.granted and result.kb.until == date(2025, 3, 15)


# -- individual contracts ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "when, tier",
    [
        ("2024-12-31", Tier.BASIC),
        ("2025-01-01T00:00", Tier.INDIVIDUAL),  # first day
        ("2025-06-30T23:59", Tier.INDIVIDUAL),
        ("2025-07-01", Tier.BASIC),  # last day, day after
    ],
)
def test_contract_covers_its_first_and_last_day(registry, when, tier):
    assert ask(registry, "gleb@gamma.example", when, product="VERT").tier == tier


def test_contract_targets_on_its_own_calendar(registry):
    result = ask(registry, "gleb@gamma.example", "2025-03-08", product="VERT")  # a Saturday, a holiday
    assert result.tier == Tier.INDIVIDUAL and result.first_response.basis == "contract SLA-G-2025"
    assert result.first_response.due == at("2025-03-08T16:00") and result.resolution.due == at("2025-03-09T04:00")
    doc = as_json(result)
    assert doc["contract"] == "SLA-G-2025" and doc["dedicated_engineer"] == "ivan.petrov@vendor.example"
    assert doc["kb_access"] is True


def test_per_request_type_targets(registry):
    result = ask(registry, "gleb@gamma.example", "2025-03-03", product="VERT", request_type="proposal")
    assert result.first_response.hours == 24 and result.first_response.due == at("2025-03-04T12:00")
    assert result.resolution is None  # null for proposals; basic does not regulate it either


def test_a_contract_weaker_than_the_warranty_still_gets_the_warranty_targets(registry):
    result = ask(registry, "dina@delta.ru", "2025-03-03")
    assert result.tier == Tier.INDIVIDUAL and result.contract.contract == "D-17"
    assert (result.first_response.hours, result.first_response.basis) == (8, "warranty")
    assert (result.resolution.hours, result.resolution.basis) == (40, "warranty")
    assert result.kb_access  # the warranty grants it although the contract does not
    assert any("earlier due moment" in r for r in result.reasons)


def test_contract_for_listed_products_only(registry):
    assert ask(registry, "dina@delta.ru", "2025-03-03", product="VERT").tier == Tier.BASIC


# -- unknown product ---------------------------------------------------------------------------


def test_no_product_and_one_licensed_product_uses_it(registry):
    result = ask(registry, "gleb@gamma.example", "2025-08-01", product=None)
    assert (result.product, result.tier, result.flag_codes) == ("VERT", Tier.BASIC, [])


def test_an_unknown_product_code_with_one_licensed_product_uses_it_and_flags(registry):
    result = ask(registry, "gleb@gamma.example", "2025-08-01", product="NOPE")
    assert (result.product, result.flag_codes) == ("VERT", ["unknown_product"])


def test_no_product_and_several_takes_the_best_and_flags(registry):
    result = ask(registry, "ann@alpha.ru", "2025-04-07", product=None)  # KOMPAS basic, LOTS withdrawn
    assert (result.product, result.tier, result.flag_codes) == ("KOMPAS", Tier.BASIC, ["unknown_product"])
    during_warranty = ask(registry, "ann@alpha.ru", "2025-01-15", product=None)
    assert (during_warranty.product, during_warranty.tier) == ("KOMPAS", Tier.WARRANTY)


# -- scope -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kw, flagged",
    [
        ({"request_type": "information", "topic": "functionality"}, True),
        ({"request_type": "information", "topic": "installation", "channel": "phone"}, False),
        ({"channel": "portal"}, True),
        ({"channel": "office"}, True),
        ({"channel": "email"}, False),
        ({"request_type": "proposal", "channel": "phone"}, False),
    ],
)
def test_outside_tier_scope_on_basic(registry, kw, flagged):
    result = ask(registry, "ann@alpha.ru", "2025-04-07", **kw)
    assert result.tier == Tier.BASIC
    assert ("outside_tier_scope" in result.flag_codes) is flagged


def test_warranty_covers_portal_and_functionality(registry):
    result = ask(
        registry, "ann@alpha.ru", "2025-01-15", request_type="information", topic="functionality", channel="portal"
    )
    assert result.tier == Tier.WARRANTY and "outside_tier_scope" not in result.flag_codes


# -- the request and the output ----------------------------------------------------------------


def test_a_naive_moment_is_bad_input():
    with pytest.raises(BadInput):
        EntitlementRequest("a@b.ru", datetime(2025, 3, 3, 12))


@pytest.mark.parametrize("kw", [{"request_type": "question"}, {"topic": "x"}, {"channel": "fax"}])
def test_unknown_request_values_are_bad_input(kw):
    with pytest.raises(BadInput):
        EntitlementRequest("a@b.ru", at("2025-03-03"), **kw)


def test_json_has_the_contract_fields(registry):
    doc = as_json(ask(registry, "ann@alpha.ru", "2025-03-03"))
    for key in (
        "tier",
        "first_response_hours",
        "resolution_hours",
        "kb_access",
        "valid_until",
        "flags",
        "reasons",
        "customer",
        "product",
        "first_response_due",
        "resolution_due",
    ):
        assert key in doc
    assert doc["tier"] == "warranty" and doc["first_response_hours"] == 8 and doc["valid_until"] == "2025-03-15"
    assert doc["first_response_due"] == "2025-03-04T12:00:00+03:00"
    none = as_json(ask(registry, "stranger@nowhere.example"))
    assert (
        none["resolution_hours"] is None
        and none["first_response_hours"] is None
        and none["flags"] == ["unknown_requester"]
    )
