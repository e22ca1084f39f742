"""`connector kb audit` and `connector kb sync`: filters, JSON, and clear errors."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest

from connector.cli import cli
from connector.core.kb_access import GRANT, REGISTER, REVOKE, AccessChange
from connector.storage import open_database
from connector.storage.kb_audit import AccessAudit


@pytest.fixture
def config(tmp_path, migrated_sqlite):
    url = migrated_sqlite()
    path = tmp_path / "connector.toml"
    path.write_text(f'database_url = "{url}"\n')
    engine = open_database(url)
    audit = AccessAudit(engine)
    audit.record(
        "zendesk",
        [
            (
                AccessChange(
                    "ann@alpha.ru", GRANT, "warranty of KOMPAS", "C-ALPHA", date(2024, 3, 15), date(2025, 3, 14)
                ),
                "done",
                "",
            )
        ],
        datetime(2025, 3, 1, 3, tzinfo=UTC),
        "scheduler",
        "run-1",
    )
    audit.record(
        "zendesk",
        [(AccessChange("bob@beta.ru", REVOKE, "the warranty ended", "C-BETA"), "failed", "HTTP 422: user suspended")],
        datetime(2025, 3, 2, 3, tzinfo=UTC),
        "sync",
    )
    audit.record(
        "zendesk",
        [(AccessChange("ann@alpha.ru", REGISTER, "warranty tier", "C-ALPHA"), "done", "added to organisation 1001")],
        datetime(2025, 3, 3, 9, tzinfo=UTC),
        "ticket",
    )
    engine.dispose()
    return str(path)


def test_audit_lists_everything_oldest_first(runner, config):
    result = runner.invoke(cli, ["kb", "audit", "--config", config])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("2025-03-01 03:00:00  zendesk") and "grant    done" in lines[0]
    assert "ann@alpha.ru (C-ALPHA) [2024-03-15 .. 2025-03-14]: warranty of KOMPAS  [scheduler]" in lines[0]
    assert "revoke   failed  bob@beta.ru (C-BETA): the warranty ended (HTTP 422: user suspended)" in lines[1]


@pytest.mark.parametrize(
    "args, emails",
    [
        (["--customer", "C-ALPHA"], ["ann@alpha.ru", "ann@alpha.ru"]),
        (["--since", "2025-03-02"], ["bob@beta.ru", "ann@alpha.ru"]),
        (["--since", "2025-03-03T11:00:00+03:00"], ["ann@alpha.ru"]),
        (["--email", "BOB@beta.ru"], ["bob@beta.ru"]),
        (["--limit", "1"], ["ann@alpha.ru"]),
        (["--platform", "django-helpdesk"], []),
    ],
)
def test_audit_filters(runner, config, args, emails):
    result = runner.invoke(cli, ["kb", "audit", "--config", config, "--json", *args])
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["email"] for line in result.stdout.splitlines()] == emails


def test_audit_json_has_every_field(runner, config):
    result = runner.invoke(cli, ["kb", "audit", "--config", config, "--json", "--limit", "3"])
    first = json.loads(result.stdout.splitlines()[0])
    assert first == {
        "id": 1,
        "at": first["at"],
        "platform": "zendesk",
        "email": "ann@alpha.ru",
        "customer_id": "C-ALPHA",
        "action": "grant",
        "reason": "warranty of KOMPAS",
        "since": "2024-03-15",
        "until": "2025-03-14",
        "result": "done",
        "detail": None,
        "origin": "scheduler",
        "run_id": "run-1",
        "lever": "kb",
    }
    assert first["at"] == "2025-03-01T03:00:00+00:00"


@pytest.mark.parametrize(
    "since, message",
    [
        ("yesterday", "is not a date (YYYY-MM-DD) or an ISO 8601 moment"),
        ("2025-03-02T10:00", "has no UTC offset"),
    ],
)
def test_audit_bad_since_is_a_clear_error(runner, config, since, message):
    result = runner.invoke(cli, ["kb", "audit", "--config", config, "--since", since])
    assert result.exit_code == 2 and message in result.stderr


def test_sync_without_a_platform_that_has_a_lever_says_so(runner, config):
    result = runner.invoke(cli, ["kb", "sync", "--config", config, "--dry-run"])
    assert result.exit_code == 2
    assert "no configured platform has a knowledge-base lever" in result.stderr


def test_sync_of_an_unconfigured_platform_says_so(runner, config):
    result = runner.invoke(cli, ["kb", "sync", "--config", config, "--platform", "zendesk"])
    assert result.exit_code == 2 and "platform 'zendesk' is not configured (configured: none)" in result.stderr


# -- end to end against an in-memory Zendesk (the documented shapes; tests/support/zendesk_stub.py) --


@pytest.fixture
def zendesk_config(tmp_path, migrated_sqlite):
    from connector.storage.registry_import import import_registry
    from tests.support.paths import REGISTRY_JSON

    url = migrated_sqlite()
    engine = open_database(url)
    import_registry(REGISTRY_JSON, engine)
    engine.dispose()
    path = tmp_path / "connector.toml"
    path.write_text(
        f'database_url = "{url}"\n[platforms.zendesk]\nbase_url = "https://acme-support.zendesk.com"\n'
        '[platforms.zendesk.credentials]\nemail = "a@acme.example"\napi_token = "t"\n'
        '[platforms.zendesk.options]\nkb_tag = "kb_closed"\n'
    )
    return str(path)


def test_kb_sync_end_to_end_dry_run_apply_and_again(runner, zendesk_config, monkeypatch):
    import re

    import responses

    from connector.kb import sync as syncing
    from tests.support.zendesk_stub import BASE, FakeZendesk

    monkeypatch.setattr(syncing, "utcnow", lambda: datetime(2025, 3, 3, 9, 0, tzinfo=UTC))
    fake = FakeZendesk()
    fake.add_user("bob@beta.ru", ["kb_closed", "vip"])  # Beta's warranty ended: revoke, keep "vip"
    fake.add_user("ann@alpha.ru", ["vip"])

    def callback(request):
        status, payload = fake.handle(request.method, request.url, json.loads(request.body) if request.body else None)
        return status, {}, json.dumps(payload)

    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        for method in ("GET", "POST", "PUT"):
            mock.add_callback(method, re.compile(re.escape(BASE) + r"/api/v2/.*"), callback=callback)
        dry = runner.invoke(cli, ["kb", "sync", "--config", zendesk_config, "--dry-run"])
        assert dry.exit_code == 0, dry.output
        assert dry.stdout.splitlines() == [
            "zendesk: revoke   bob@beta.ru (C-BETA): the warranty of KOMPAS (bought 2024-02-29) has ended",
            "zendesk: grant    ann@alpha.ru (C-ALPHA) [2024-03-15 .. 2025-03-15]: "
            "warranty of KOMPAS (bought 2024-03-15) runs up to 2025-03-15",
            "zendesk: grant    dina@delta.ru (C-DELTA) [2025-01-20 .. 2026-01-20]: "
            "warranty of KOMPAS (bought 2025-01-20) runs up to 2026-01-20",
            "zendesk: grant    gleb@gamma.example (C-GAMMA) [2025-01-01 .. 2025-06-30]: "
            "contract SLA-G-2025 includes KB access up to 2025-06-30",
            "zendesk: would grant 3, revoke 1 (4 change(s); dry run, nothing applied)",
        ]
        assert fake.tags_of("bob@beta.ru") == ["kb_closed", "vip"]  # the dry run changed nothing

        applied = runner.invoke(cli, ["kb", "sync", "--config", zendesk_config])
        assert applied.exit_code == 0, applied.output
        assert applied.stdout.startswith("zendesk: granted 3, revoked 1, already right 0, failed 0 of 4 planned")
        assert "4 of 4 change(s) applied" in applied.stderr
        assert fake.tags_of("bob@beta.ru") == ["vip"] and sorted(fake.tags_of("ann@alpha.ru")) == ["kb_closed", "vip"]
        assert fake.tags_of("gleb@gamma.example") == ["kb_closed"]  # created as an end user, tagged

        again = runner.invoke(cli, ["kb", "sync", "--config", zendesk_config, "--json"])
        assert again.exit_code == 0, again.output
        summary = json.loads(again.stdout)
        assert (summary["grants"], summary["revokes"], summary["granted"]) == (0, 0, 0)

    audit = runner.invoke(cli, ["kb", "audit", "--config", zendesk_config, "--json"])
    entries = [json.loads(line) for line in audit.stdout.splitlines()]
    assert sorted((e["action"], e["email"], e["result"]) for e in entries) == [
        ("grant", "ann@alpha.ru", "done"),
        ("grant", "dina@delta.ru", "done"),
        ("grant", "gleb@gamma.example", "done"),
        ("revoke", "bob@beta.ru", "done"),
    ]


def test_an_unreachable_platform_is_exit_1_saying_so_once_per_attempt(runner, zendesk_config, monkeypatch):
    """The documented exit code for a platform failure is 1 (it was 2, after two minutes of
    retries whose lines named the request twice)."""
    from connector.platforms.zendesk import ZendeskAdapter

    waits: list[float] = []
    monkeypatch.setattr(ZendeskAdapter, "sleep", staticmethod(waits.append))  # the retries' waits, not slept
    config = open(zendesk_config).read().replace("https://acme-support.zendesk.com", "http://127.0.0.1:9")
    open(zendesk_config, "w").write(config)
    result = runner.invoke(cli, ["kb", "sync", "--config", zendesk_config])
    assert result.exit_code == 1, result.output
    assert "cannot read who holds it on Zendesk" in result.stdout and "cannot reach 127.0.0.1:9" in result.stdout
    assert "nothing was changed" in result.stdout and len(waits) == 7  # 8 attempts, the retries visible
