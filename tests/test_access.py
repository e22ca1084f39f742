"""KB access: the core rule, the plan, the sync (applied, repeated, interrupted and resumed), the
per-ticket step and the audit; against a platform kept in memory, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from connector.config.rules import rulebook
from connector.core.entitlement import EntitlementRequest
from connector.core.errors import PlatformError
from connector.core.kb_access import GRANT, REGISTER, REVOKE, Desired, KbAccess, kb_access, plan_access
from connector.core.registry import Contract, ContractSla, Customer, CustomerFacts, Purchase
from connector.core.ticket import Ticket
from connector.kb.keeper import AccessKeeper
from connector.kb.sync import sync_platform
from connector.storage.kb_audit import AccessAudit
from connector.storage.registry import resolve_stored
from connector.storage.registry_import import import_registry
from tests.support.fakes import MemoryPlatform
from tests.support.paths import REGISTRY_JSON

RULES = rulebook()
POLICY = RULES.policy
D = date.fromisoformat


def facts(purchases=(), contracts=()) -> CustomerFacts:
    return CustomerFacts(Customer("C-1", "One"), (), tuple(purchases), tuple(contracts))


def contract(number: str, starts: str, ends: str, kb: bool | None) -> Contract:
    return Contract(number, "dealer", D(starts), D(ends), None, ContractSla(8, 40, kb_access=kb))


# -- the rule -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "day, granted, until",
    [
        ("2025-03-15", True, "2025-03-15"),  # the anniversary, the warranty's last day: granted, ends today
        ("2025-03-16", False, None),  # ended
    ],
)
def test_a_warranty_that_ends_today(day, granted, until):
    access = kb_access(facts([Purchase("KOMPAS", "product", D("2024-03-15"))]), D(day), POLICY)
    assert access.granted is granted and access.until == (D(until) if until else None)
    assert ("ended" in access.reason) is (not granted)


def test_a_warranty_that_starts_today():
    purchases = [Purchase("KOMPAS", "product", D("2025-06-01"))]
    assert not kb_access(facts(purchases), D("2025-05-31"), POLICY).granted
    access = kb_access(facts(purchases), D("2025-06-01"), POLICY)
    assert access.granted and access.since == D("2025-06-01") and access.until == D("2026-06-01")


@pytest.mark.parametrize("kb, granted", [(True, True), (False, False), (None, False)])  # None: the policy's (no)
def test_a_contract_with_and_without_kb_access(kb, granted):
    access = kb_access(facts(contracts=[contract("C-9", "2025-01-01", "2025-12-31", kb)]), D("2025-05-05"), POLICY)
    assert access.granted is granted
    assert access.reason == (
        "contract C-9 includes KB access up to 2025-12-31" if granted else "contract C-9 does not include KB access"
    )


def test_the_latest_source_sets_until_and_an_expired_contract_gives_nothing():
    f = facts(
        [Purchase("KOMPAS", "product", D("2025-01-10")), Purchase("VERT", "update_package", D("2025-04-01"))],
        [contract("OLD", "2023-01-01", "2024-12-31", True)],
    )
    access = kb_access(f, D("2025-05-05"), POLICY)
    assert (access.granted, access.since, access.until) == (True, D("2025-04-01"), D("2026-04-01"))
    assert not kb_access(
        facts(contracts=[contract("OLD", "2023-01-01", "2024-12-31", True)]), D("2025-05-05"), POLICY
    ).granted


def test_ending_within_30_days():
    access = KbAccess(True, "w", until=D("2025-03-14"))
    assert access.ends_within(D("2025-02-13")) and not access.ends_within(D("2025-02-12"))
    assert not KbAccess(False, "none").ends_within(D("2025-03-01"))


def test_plan_grants_revokes_and_leaves_the_right_ones_alone():
    yes, no = KbAccess(True, "warranty", D("2025-01-01"), D("2025-12-31")), KbAccess(False, "ended")
    desired = [
        Desired("A@x.ru", "C-1", yes),
        Desired("b@x.ru", "C-1", yes),
        Desired("c@y.ru", "C-2", no),
        Desired("d@y.ru", "C-2", no),
    ]
    changes = plan_access(desired, ["b@X.ru", "c@y.ru", "stranger@z.ru"])
    assert [(c.action, c.email) for c in changes] == [(REVOKE, "c@y.ru"), (REVOKE, "stranger@z.ru"), (GRANT, "a@x.ru")]
    assert changes[2].since == D("2025-01-01") and changes[2].until == D("2025-12-31")
    assert changes[1].reason == "not a contact of any customer in the registry"
    assert "a@x.ru (C-1) [2025-01-01 .. 2025-12-31]: warranty" in changes[2].describe()


@pytest.fixture
def registry(engine):
    import_registry(REGISTRY_JSON, engine)
    return engine


AT = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)  # 2025-03-03 12:00 in Moscow
# On 2025-03-03: Alpha's KOMPAS warranty runs (to 2025-03-14), Gamma's contract has kb_access,
# Beta's warranty ended 2025-02-28, Delta's update package warranty runs (to 2026-01-19).
ENTITLED = {"ann@alpha.ru", "gleb@gamma.example", "dina@delta.ru"}


def test_sync_applies_the_plan_and_a_second_sync_changes_nothing(registry):
    platform = MemoryPlatform(holders=["bob@beta.ru", "ann@alpha.ru", "left@old.ru"])
    first = sync_platform(registry, RULES, platform, now=AT)
    assert (first.granted, first.revoked, first.failed, first.error) == (2, 2, [], None)
    assert platform.holders == ENTITLED
    second = sync_platform(registry, RULES, platform, now=AT)
    assert second.plan == [] and len(platform.calls) == 4
    entries = list(AccessAudit(registry).entries())
    assert sorted((e.action, e.email, e.result) for e in entries) == [
        ("grant", "dina@delta.ru", "done"),
        ("grant", "gleb@gamma.example", "done"),
        ("revoke", "bob@beta.ru", "done"),
        ("revoke", "left@old.ru", "done"),
    ]
    gleb = next(e for e in entries if e.email == "gleb@gamma.example")
    assert (gleb.customer_id, gleb.since, gleb.until, gleb.origin) == (
        "C-GAMMA",
        D("2025-01-01"),
        D("2025-06-30"),
        "sync",
    )
    assert gleb.reason == "contract SLA-G-2025 includes KB access up to 2025-06-30"


def test_a_dry_run_plans_and_changes_nothing(registry):
    platform = MemoryPlatform()
    report = sync_platform(registry, RULES, platform, dry_run=True, now=AT)
    assert sorted(c.email for c in report.plan) == sorted(ENTITLED)
    assert platform.calls == [] and list(AccessAudit(registry).entries()) == []
    assert report.as_json()["plan"][0]["action"] == "grant"


def test_a_sync_interrupted_by_platform_errors_resumes_without_double_grants(registry, registry_doc, write_json):
    registry_doc["contacts"] += [{"email": f"staff{i}@alpha.ru", "customer": "C-ALPHA"} for i in range(7)]
    import_registry(write_json(registry_doc), registry)
    platform = MemoryPlatform(batch=3, fail_after=2)
    broken = sync_platform(registry, RULES, platform, now=AT)
    assert broken.error and "6 of 10 change(s) were applied and recorded" in broken.error
    assert len(platform.holders) == 6 and len(list(AccessAudit(registry).entries())) == 6
    platform.fail_after = None
    resumed = sync_platform(registry, RULES, platform, now=AT)
    assert (len(resumed.plan), resumed.granted, resumed.error) == (4, 4, None)
    granted = [email for action, email in platform.calls if action == GRANT]
    assert len(granted) == len(set(granted)) == 10  # each granted exactly once over both runs
    assert len(list(AccessAudit(registry).entries())) == 10


def test_the_next_day_revokes_what_expired_and_grants_what_started(registry, registry_doc, write_json):
    platform = MemoryPlatform()
    sync_platform(registry, RULES, platform, now=datetime(2025, 3, 15, 12, tzinfo=UTC))
    assert "ann@alpha.ru" in platform.holders  # the warranty's last day (the anniversary)
    registry_doc["purchases"].append({"customer": "C-BETA", "product": "VERT", "kind": "product", "date": "2025-03-16"})
    import_registry(write_json(registry_doc), registry)
    report = sync_platform(registry, RULES, platform, now=datetime(2025, 3, 16, 12, tzinfo=UTC))
    assert sorted((c.action, c.email) for c in report.plan) == [
        (GRANT, "bob@beta.ru"),
        (GRANT, "eve@shared.ru"),
        (REVOKE, "ann@alpha.ru"),
    ]
    revoke = next(c for c in report.plan if c.action == REVOKE)
    assert revoke.reason == "the warranty of KOMPAS (bought 2024-03-15) has ended"


# -- the per-ticket step ------------------------------------------------------------------------


def ticket(email: str, created: datetime = AT) -> Ticket:
    return Ticket("memory", "7", created, email, product="KOMPAS")


def run_keeper(engine, platform, email, now=AT, dry_run=False, settings=None):
    keeper = AccessKeeper(engine, RULES, settings or {"kb": True, "register_portal_users": True})
    t = ticket(email)
    ent = resolve_stored(EntitlementRequest(email, t.created_at, t.product), engine, RULES)
    return keeper(platform, t, ent, None, now, dry_run)


def test_a_warranty_requester_gets_kb_access_and_portal_registration_once(registry):
    platform = MemoryPlatform(name="zendesk")  # Alpha is organisation 1001 there
    result = run_keeper(registry, platform, "ann@alpha.ru")
    assert result["access"] == [
        "grant ann@alpha.ru: done",
        "register ann@alpha.ru: created ann@alpha.ru in Alpha Engineering (1001)",
    ]
    assert platform.holders == {"ann@alpha.ru"} and platform.portal == {"ann@alpha.ru": "C-ALPHA"}
    assert run_keeper(registry, platform, "ann@alpha.ru") is None  # the next event: no platform call
    assert len(platform.calls) == 1
    other = MemoryPlatform()  # a platform where the registry names no organisation for Alpha
    assert run_keeper(registry, other, "ann@alpha.ru")["access"][1].endswith("(new organisation)")
    actions = [(e.action, e.origin) for e in AccessAudit(registry).entries(customer="C-ALPHA", platform="zendesk")]
    assert actions == [(GRANT, "ticket"), (REGISTER, "ticket")]


def test_basic_requesters_are_neither_granted_nor_registered(registry):
    platform = MemoryPlatform()
    assert run_keeper(registry, platform, "bob@beta.ru") is None  # Beta: basic, warranty ended
    assert platform.calls == [] and platform.portal == {}


def test_access_is_revoked_on_the_first_ticket_after_it_ended(registry):
    platform = MemoryPlatform()
    run_keeper(registry, platform, "ann@alpha.ru")
    later = datetime(2025, 4, 1, 9, tzinfo=UTC)
    result = run_keeper(registry, platform, "ann@alpha.ru", now=later)
    assert result == {"access": ["revoke ann@alpha.ru: done"]} and platform.holders == set()


def test_the_per_ticket_step_in_dry_run_changes_nothing(registry):
    platform = MemoryPlatform()
    result = run_keeper(registry, platform, "gleb@gamma.example", dry_run=True)
    assert [line.split()[:3] for line in result["access"]] == [
        ["would", "grant", "gleb@gamma.example"],
        ["would", "register", "gleb@gamma.example"],
    ]
    assert platform.calls == [] and platform.portal == {} and list(AccessAudit(registry).entries()) == []


def test_the_expiring_access_flag_reaches_the_ticket(registry):
    ent = resolve_stored(EntitlementRequest("ann@alpha.ru", AT, "VERT"), registry, RULES)
    assert "kb_access_ending" in ent.flag_codes and ent.kb.until == D("2025-03-15")


def test_a_domain_matched_requester_keeps_what_the_ticket_gave_through_the_nightly_sync(registry):
    """ticket -> sync -> ticket: the first grants, nothing changes after it (the sync's desired set
    holds the staff seen on tickets, not only the registry's contacts)."""
    platform = MemoryPlatform(holders=["ann@alpha.ru"])  # Alpha's contact holds it already
    first = run_keeper(registry, platform, "newcomer@alpha.ru")  # Alpha's domain, not a contact
    assert first["access"][0] == "grant newcomer@alpha.ru: done"
    report = sync_platform(registry, RULES, platform, now=AT)
    assert [c for c in report.plan if "alpha.ru" in c.email] == [] and "newcomer@alpha.ru" in platform.holders
    assert run_keeper(registry, platform, "newcomer@alpha.ru") is None
    later = sync_platform(registry, RULES, platform, now=datetime(2025, 3, 16, 12, tzinfo=UTC))
    assert {c.email for c in later.plan if c.action == REVOKE} >= {"ann@alpha.ru", "newcomer@alpha.ru"}  # ended


class FailingPortal(MemoryPlatform):
    """Its portal registration fails `fail` times with a 503."""

    def __init__(self, *args, fail: int = 1, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fail = fail

    def register_portal_user(self, email, name, customer_id, customer_name, org_id):
        if self.fail:
            self.fail -= 1
            raise PlatformError("POST /api/v2/organizations/create_or_update: HTTP 503: unavailable", 503)
        return super().register_portal_user(email, name, customer_id, customer_name, org_id)


def test_a_failing_side_step_never_fails_the_ticket_and_the_sync_retries_it(registry):
    platform = FailingPortal(name="zendesk")
    result = run_keeper(registry, platform, "ann@alpha.ru")  # returns: the event is done, not retried
    assert result["access"][0] == "grant ann@alpha.ru: done"
    assert result["access"][1].startswith("register ann@alpha.ru: failed: POST /api/v2/organizations")
    failed = [e for e in AccessAudit(registry).entries() if e.action == REGISTER]
    assert [(e.result, e.origin) for e in failed] == [("failed", "ticket")]
    report = sync_platform(registry, RULES, platform, now=AT)
    assert report.registered == 1 and platform.portal == {"ann@alpha.ru": "C-ALPHA"}
    assert "1 portal registration(s) that had failed done now" in report.summary()
    assert sync_platform(registry, RULES, platform, now=AT).registered == 0  # done: not again
