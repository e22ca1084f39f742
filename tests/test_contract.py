"""The adapter contract, the same tests over every registered platform, from its fixtures alone
(tests/fixtures/<platform>/contract.json, see tests/support/contract.py): documented deliveries
parse to the right event through the real HTTP view; forged, stale and missing signatures are
401; malformed bodies get their 4xx; a ticket read gives the right facts; the first pass writes
exactly the expected requests and a second pass over the written ticket writes nothing.
A new adapter gets all of these by adding its fixtures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import responses

from connector.composition import adapters_for
from connector.config.rules import rulebook
from connector.config.settings import config_from_mapping
from connector.pipeline.metrics import Metrics
from connector.pipeline.process import Processor
from connector.platforms import ADAPTERS, adapter_class, settings_schemas
from connector.storage import open_database
from connector.storage.events import EventStore
from connector.storage.registry_import import import_registry
from connector.web import create_app
from tests.support.contract import contract, delivery, facts, moment, register
from tests.support.contract import contract_adapter as fresh_adapter

PLATFORMS = sorted(cls.name for cls in ADAPTERS)
OTHER_SECRET = "another-secret-of-enough-length-0123"


def cases(kind: str) -> list[tuple[str, str]]:
    """(platform, case) for every entry of `kind` in each platform's contract."""
    return [(p, name) for p in PLATFORMS for name in sorted(contract(p).get(kind, {}))]


@pytest.fixture(scope="module")
def apps(tmp_path_factory):
    """One app per platform on its own SQLite database, configured from its contract."""
    made = {}
    for platform in PLATFORMS:
        url = f"sqlite:///{tmp_path_factory.mktemp(platform) / 'contract.db'}"
        made[platform] = create_app(
            test_config={"database_url": url, "platforms": {platform: contract(platform)["settings"]}}
        )
    yield made
    for app in made.values():
        app.extensions["connector"].close()


def adapter(apps, platform):
    """The app's adapter (the one its webhooks view uses)."""
    return apps[platform].extensions["connector"].adapters[platform]


def post(apps, platform, headers, body, token=None):
    query = {"token": token} if token else None
    return apps[platform].test_client().post(f"/webhooks/{platform}", data=body, headers=headers, query_string=query)


def fresh(apps, platform, name, now, secret=None, delivery_id=None):
    """A fixture delivery signed afresh as the platform signs, at `now` (with `secret`)."""
    spec = contract(platform)
    headers, body = delivery(spec["folder"], name)
    a = adapter(apps, platform)
    signed, token = a.sign(body, secret or a.settings.webhook_secret, now, delivery_id or f"contract-{name}-{now:%s}")
    kept = {k: v for k, v in headers.items() if k.lower() in ("content-type", "user-agent")}
    return {**kept, **signed}, body, token


# -- receiving ---------------------------------------------------------------------------------


@pytest.mark.parametrize("platform", PLATFORMS)
def test_the_platform_is_one_folder_and_its_settings_load(platform):
    cls = adapter_class(platform)
    spec = contract(platform)
    assert spec["folder"].name == platform and cls.schema_name() == f"webhook.{platform}.schema.json"
    config = config_from_mapping(
        {"platforms": {platform: spec["settings"]}}, spec["folder"], "contract", settings_schemas()
    )
    assert set(adapters_for(config, Metrics())) == {platform}


@pytest.mark.parametrize("platform,name", cases("events"))
def test_a_recorded_delivery_parses_to_its_event(apps, platform, name):
    spec = contract(platform)
    want = spec["events"][name]
    headers, body = delivery(spec["folder"], name)
    a = adapter(apps, platform)
    from connector.platforms.receiving import receive

    event = receive(
        a, headers, body, spec.get("recorded_token"), a.settings.webhook_secret, moment(want["verify_at"]), 1 << 20
    )
    delivery_id = event.delivery_id if want["delivery_id"] != "content-hash" else "content-hash"
    if want["delivery_id"] == "content-hash":
        assert event.delivery_id == "sha256:" + __import__("hashlib").sha256(body).hexdigest()
    assert (event.platform, event.ticket_id, event.kind, delivery_id) == (
        platform,
        want["ticket_id"],
        want["kind"],
        want["delivery_id"],
    )


@pytest.mark.parametrize("platform,name", cases("events"))
def test_a_fresh_signed_delivery_is_accepted_once_then_a_duplicate(apps, platform, name):
    now = datetime.now(UTC)
    headers, body, token = fresh(apps, platform, name, now, delivery_id=f"dup-{name}-{now.timestamp()}")
    first = post(apps, platform, headers, body, token)
    assert first.status_code == 202, first.json
    assert first.json["ticket"] == contract(platform)["events"][name]["ticket_id"]
    again = post(apps, platform, headers, body, token)
    assert again.status_code == 200 and again.json["status"] == "duplicate"


def forgeries() -> list[tuple[str, str]]:
    """Every platform's forgeries; a tampered body where the platform signs the body, a stale one
    where it signs a timestamp (the others catch replays by the delivery id)."""
    found = []
    for p in PLATFORMS:
        cls = adapter_class(p)
        kinds = ["missing", "another secret"] + (["tampered body"] if cls.signs_body else [])
        found += [(p, k) for k in kinds + (["stale"] if cls.replay_window else [])]
    return found


@pytest.mark.parametrize("platform,forgery", forgeries())
def test_forged_stale_and_missing_signatures_are_401_and_store_nothing(apps, platform, forgery):
    name = sorted(contract(platform)["events"])[0]
    a = adapter(apps, platform)
    now = datetime.now(UTC)
    when = now - (a.replay_window or timedelta(0)) - timedelta(minutes=1) if forgery == "stale" else now
    headers, body, token = fresh(apps, platform, name, when, OTHER_SECRET if forgery == "another secret" else None)
    if forgery == "missing":
        signed, _ = a.sign(body, a.settings.webhook_secret, now, "x")
        headers = {k: v for k, v in headers.items() if k not in signed}
        token = None
    if forgery == "tampered body":
        body = body.replace(b"}", b" }", 1)
    before = len(EventStore(apps[platform].extensions["connector"].engine).list(limit=100000))
    answer = post(apps, platform, headers, body, token)
    assert answer.status_code == 401, answer.json
    assert "error" in answer.json
    assert len(EventStore(apps[platform].extensions["connector"].engine).list(limit=100000)) == before


@pytest.mark.parametrize("platform,name", cases("malformed"))
def test_a_malformed_delivery_gets_its_4xx_naming_the_problem(apps, platform, name):
    headers, body, token = fresh(apps, platform, name, datetime.now(UTC))
    answer = post(apps, platform, headers, body, token)
    assert answer.status_code == contract(platform)["malformed"][name], answer.json
    assert answer.json["error"]


# -- the API -----------------------------------------------------------------------------------


@pytest.mark.parametrize("platform,ticket", cases("tickets"))
def test_a_ticket_read_gives_its_facts(apps, platform, ticket):
    spec = contract(platform)
    case = spec["tickets"][ticket]
    a = fresh_adapter(platform)
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        register(mock, spec["folder"], a.settings.base_url, case["reads"], spec.get("request_headers", {}))
        assert facts(a.fetch_ticket(ticket)) == {"id": ticket, **case["facts"]}


@pytest.mark.parametrize("platform,ticket", cases("tickets"))
def test_the_write_back_is_exact_and_a_second_pass_writes_nothing(apps, platform, ticket, tmp_path):
    spec = contract(platform)
    case = spec["tickets"][ticket]
    a = fresh_adapter(platform)
    engine = open_database(f"sqlite:///{tmp_path / 'write.db'}")
    import_registry(spec["folder"] / spec["registry"], engine)
    now = moment(case["now"])
    processor = Processor(engine, {platform: a}, rulebook(), clock=lambda: now)
    headers = spec.get("request_headers", {})
    try:
        with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
            register(mock, spec["folder"], a.settings.base_url, case["reads"] + case["writes"], headers)
            result = processor.process_ticket(a, ticket)
            assert result["written"] is True and result["dry_run"] is False
        with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
            register(mock, spec["folder"], a.settings.base_url, case["reads_after"], headers)
            again = processor.process_ticket(a, ticket)
            assert again["changed"] == [] and again["note"] is None and again["written"] is False
            assert all(call.request.method == "GET" for call in mock.calls)
    finally:
        engine.dispose()
