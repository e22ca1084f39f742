"""The information mailing list (`connector mailing-list`) and its Zendesk tag, kept in sync like
the KB tag: planned against the tag's holders, dry run, applied in bulk, audited, idempotent."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
import responses

from connector.cli import cli
from connector.config.policies import load_policy
from connector.core.mailing import information_support
from connector.core.registry import Contract, ContractSla, Customer, CustomerFacts, License, Purchase
from connector.core.tiers import Tier
from connector.storage import open_database
from connector.storage.kb_audit import AccessAudit
from connector.storage.registry_import import import_registry
from tests.support.zendesk import BASE, serve
from tests.support.zendesk_stub import FakeZendesk

DAY = date(2026, 12, 1)


def _registry(purchase: date, contract_from: date, contract_to: date, ended: date) -> dict:
    return {
        "products": [{"code": c, "name": c.title()} for c in ("KOMPAS", "VERT", "PILOT")],
        "customers": [
            {"id": i, "name": n}
            for i, n in (
                ("C-W", "Warranty Works"),
                ("C-K", "Contract Corp"),
                ("C-B", "Basic Bureau"),
                ("C-X", "Ex Client"),
                ("C-BOTH", "Both Ltd"),
            )
        ],
        "contacts": [
            {"email": "w1@w.ru", "customer": "C-W", "name": "Wera"},
            {"email": "w2@w.ru", "customer": "C-W"},
            {"email": "k@k.ru", "customer": "C-K", "name": "=Kira"},
            {"email": "b@b.ru", "customer": "C-B"},
            {"email": "x@x.ru", "customer": "C-X"},
            {"email": "both@both.ru", "customer": "C-BOTH"},
        ],
        "licenses": [
            {"customer": "C-W", "product": "KOMPAS", "since": "2020-01-01"},
            {"customer": "C-K", "product": "VERT", "since": "2020-01-01"},
            {"customer": "C-K", "product": "PILOT", "since": "2020-01-01"},
            {"customer": "C-B", "product": "KOMPAS", "since": "2020-01-01"},
        ],
        "purchases": [
            {"customer": "C-W", "product": "KOMPAS", "kind": "product", "date": purchase.isoformat()},
            {"customer": "C-K", "product": "KOMPAS", "kind": "product", "date": "2024-01-10"},
            {
                "customer": "C-BOTH",
                "product": "VERT",
                "kind": "update_package",
                "date": (purchase + timedelta(days=200)).isoformat(),
            },
        ],
        "contracts": [
            {
                "number": "K-1",
                "customer": "C-K",
                "counterparty": "dealer",
                "starts": contract_from.isoformat(),
                "ends": contract_to.isoformat(),
                "products": "*",
                "sla": {"first_response_hours": 4, "resolution_hours": 16},
            },
            {
                "number": "X-1",
                "customer": "C-X",
                "counterparty": "central",
                "starts": "2025-01-01",
                "ends": ended.isoformat(),
                "products": ["PILOT"],
                "sla": {"first_response_hours": 4, "resolution_hours": None},
            },
            {
                "number": "B-1",
                "customer": "C-BOTH",
                "counterparty": "central",
                "starts": contract_from.isoformat(),
                "ends": contract_to.isoformat(),
                "products": ["PILOT"],
                "sla": {"first_response_hours": 4, "resolution_hours": 16},
            },
        ],
    }


# purchases 2026-03-15 (C-W's KOMPAS) and 2026-10-01 (C-BOTH's VERT); contracts 2026-01-01..2026-12-31;
# C-X's contract ended 2026-06-30
FIXED = _registry(date(2026, 3, 15), date(2026, 1, 1), date(2026, 12, 31), date(2026, 6, 30))


@pytest.fixture
def db(tmp_path, migrated_sqlite):
    url = migrated_sqlite("mailing.db")
    (tmp_path / "registry.json").write_text(json.dumps(FIXED))
    engine = open_database(url)
    import_registry(tmp_path / "registry.json", engine)
    engine.dispose()
    return url


def test_the_rule_takes_warranties_and_contracts_running_that_day():
    policy = load_policy()
    sla = ContractSla(4, 16)
    facts = CustomerFacts(
        Customer("C", "C"),
        (License("VERT", date(2020, 1, 1)),),
        (Purchase("KOMPAS", "product", date(2026, 3, 15)),),
        (Contract("K", "dealer", date(2026, 1, 1), date(2026, 12, 31), None, sla),),
    )
    sub = information_support(facts, DAY, policy)
    # the warranty (bought 2026-03-15: up to 2027-03-15 inclusive) outlasts the contract: until is its last day
    assert (sub.tier, sub.products, sub.until) == (Tier.INDIVIDUAL, ("KOMPAS", "VERT"), date(2027, 3, 15))
    assert information_support(facts, date(2028, 1, 1), policy) is None
    only_license = CustomerFacts(Customer("B", "B"), (License("VERT", date(2020, 1, 1)),))
    assert information_support(only_license, DAY, policy) is None  # basic support has no mailing


def test_the_list_as_csv(runner, db):
    done = runner.invoke(cli, ["mailing-list", "--at", "2026-12-01", "--database", db])
    assert done.exit_code == 0, done.stderr
    assert done.stdout_bytes.decode("utf-8").split("\r\n") == [
        "email,name,customer,products,tier,until",
        "both@both.ru,,C-BOTH,PILOT;VERT,individual,2027-10-01",  # VERT's warranty outlasts contract B-1
        "k@k.ru,'=Kira,C-K,PILOT;VERT,individual,2026-12-31",  # "*": the licensed products; name made safe
        "w1@w.ru,Wera,C-W,KOMPAS,warranty,2027-03-15",
        "w2@w.ru,,C-W,KOMPAS,warranty,2027-03-15",
        "",
    ]


def test_filters_by_product_and_day(runner, db):
    kompas = runner.invoke(
        cli, ["mailing-list", "--at", "2026-12-01", "--product", "KOMPAS", "--database", db, "--format", "json"]
    )
    doc = json.loads(kompas.stdout)
    assert (doc["at"], doc["product"]) == ("2026-12-01", "KOMPAS")
    assert [c["email"] for c in doc["contacts"]] == ["w1@w.ru", "w2@w.ru"]
    assert doc["contacts"][0] == {
        "email": "w1@w.ru",
        "name": "Wera",
        "customer": "C-W",
        "products": ["KOMPAS"],
        "tier": "warranty",
        "until": "2027-03-15",
    }
    june = runner.invoke(cli, ["mailing-list", "--at", "2026-06-30", "--database", db, "--format", "json"])
    assert "x@x.ru" in [c["email"] for c in json.loads(june.stdout)["contacts"]]  # its contract's last day
    july = runner.invoke(cli, ["mailing-list", "--at", "2026-07-01", "--database", db, "--format", "json"])
    assert "x@x.ru" not in [c["email"] for c in json.loads(july.stdout)["contacts"]]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--product", "NOPE"], "unknown product 'NOPE'"),
        (["--at", "2026-13-01"], "--at '2026-13-01' is not a date"),
        (["--dry-run"], "--platform and --dry-run go with --sync"),
        (["--sync", "--product", "KOMPAS"], "--sync works on today's whole list"),
    ],
)
def test_bad_input_is_an_error_and_exit_2(runner, db, args, message):
    done = runner.invoke(cli, ["mailing-list", *args, "--database", db])
    assert done.exit_code == 2 and done.stderr.startswith("error: ") and message in done.stderr, done.stderr


# -- the Zendesk mailing tag ------------------------------------------------------------------------


@pytest.fixture
def zendesk_config(tmp_path, migrated_sqlite):
    """A registry dated from today (the sync works on today's list) and a config keeping `info_mail`."""
    today = datetime.now(UTC).date()
    doc = _registry(
        today - timedelta(days=300), today - timedelta(days=30), today + timedelta(days=30), today - timedelta(days=1)
    )
    (tmp_path / "registry.json").write_text(json.dumps(doc))
    url = migrated_sqlite("zd.db")
    engine = open_database(url)
    import_registry(tmp_path / "registry.json", engine)
    engine.dispose()
    config = tmp_path / "connector.toml"
    config.write_text(f'''database_url = "{url}"
[platforms.zendesk]
base_url = "{BASE}"
webhook_secret = "a-webhook-secret-for-tests-0123"
[platforms.zendesk.credentials]
email = "connector@ascon.example"
api_token = "t0k3n-for-tests"
[platforms.zendesk.options]
mailing_tag = "info_mail"
job_poll_seconds = 0
''')
    return str(config), url


@responses.activate(assert_all_requests_are_fired=True)
def test_the_mailing_tag_is_kept_like_the_kb_tag(runner, zendesk_config):
    config, url = zendesk_config
    fake = FakeZendesk(BASE)
    fake.add_user("w1@w.ru", ["vip"])
    fake.add_user("x@x.ru", ["info_mail", "kb_closed"])  # its contract ended yesterday
    fake.add_user("gone@old.example", ["info_mail"])  # not in the registry any more
    serve(fake)

    dry = runner.invoke(cli, ["mailing-list", "--sync", "--dry-run", "--config", config])
    assert dry.exit_code == 0, dry.stderr
    lines = dry.stdout.splitlines()
    assert [[w.rstrip(":") for w in line.split()[2:4]] for line in lines[:-1]] == [
        ["revoke", "gone@old.example"],
        ["revoke", "x@x.ru"],
        ["grant", "both@both.ru"],
        ["grant", "k@k.ru"],
        ["grant", "w1@w.ru"],
        ["grant", "w2@w.ru"],
    ]
    assert lines[-1].startswith("zendesk mailing: would grant 4, revoke 2")
    assert not [r for r in fake.requests if r[0] in ("POST", "PUT")]  # a dry run writes nothing

    done = runner.invoke(cli, ["mailing-list", "--sync", "--config", config])
    assert done.exit_code == 0, done.stderr
    assert "zendesk mailing: granted 4, revoked 2" in done.stdout
    assert fake.tags_of("w1@w.ru") == ["info_mail", "vip"]  # other tags survive
    assert fake.tags_of("x@x.ru") == ["kb_closed"]  # the KB tag is not the mailing's business
    assert fake.tags_of("k@k.ru") == ["info_mail"] and fake.tags_of("gone@old.example") == []

    engine = open_database(url)
    entries = list(AccessAudit(engine).entries())
    assert {(e.lever, e.action, e.result) for e in entries} == {
        ("mailing", "grant", "done"),
        ("mailing", "revoke", "done"),
    }
    assert len(entries) == 6
    assert AccessAudit(engine).last_done("zendesk", "w1@w.ru", ("grant", "revoke")) is None  # not a KB grant
    engine.dispose()

    again = runner.invoke(cli, ["mailing-list", "--sync", "--config", config])
    assert again.exit_code == 0 and "granted 0, revoked 0" in again.stdout and "of 0 planned" in again.stdout


def test_no_platform_with_a_mailing_tag_is_an_error(runner, db, tmp_path):
    config = tmp_path / "plain.toml"
    config.write_text(f'database_url = "{db}"\n')
    done = runner.invoke(cli, ["mailing-list", "--sync", "--config", str(config)])
    assert done.exit_code == 2 and "no configured platform keeps a mailing tag" in done.stderr
