"""`connector install` for Jira Service Management and Freshdesk as an admin runs it: the TOML
config (secrets from the environment), `--apply` creating Jira's signed admin webhook through the
API (strict `responses`), Freshdesk's rules printed because its API cannot create them, never a
secret on the screen, and a clear `error:` with exit 2 when the config lacks what install needs."""

from __future__ import annotations

import json

import responses
from responses import matchers

from connector.cli import cli
from tests.support.contract import contract

JSM, FD = contract("jira-service-management"), contract("freshdesk")


def toml(tmp_path, jql: str | None = "project = SUP AND issuetype = Support"):
    options = f'[platforms.jira-service-management.options]\njql = "{jql}"\n' if jql else ""
    path = tmp_path / "connector.toml"
    path.write_text(
        f"""
[platforms.jira-service-management]
base_url = "{JSM["settings"]["base_url"]}"
webhook_secret_env = "CLI_JSM_SECRET"
[platforms.jira-service-management.credentials]
email = "{JSM["settings"]["credentials"]["email"]}"
api_token_env = "CLI_JSM_TOKEN"
[platforms.jira-service-management.fields]
tier = "customfield_10050"
first_response_due = "customfield_10051"
resolution_due = "customfield_10052"
{options}
[platforms.freshdesk]
base_url = "{FD["settings"]["base_url"]}"
webhook_secret_env = "CLI_FD_SECRET"
[platforms.freshdesk.fields]
tier = "cf_support_tier"
first_response_due = "cf_first_response_due"
resolution_due = "cf_resolution_due"
""",
        encoding="utf-8",
    )
    return path


def secrets(monkeypatch):
    monkeypatch.setenv("CLI_JSM_SECRET", JSM["settings"]["webhook_secret"])
    monkeypatch.setenv("CLI_JSM_TOKEN", JSM["settings"]["credentials"]["api_token"])
    monkeypatch.setenv("CLI_FD_SECRET", FD["settings"]["webhook_secret"])


@responses.activate(assert_all_requests_are_fired=True)
def test_install_apply_creates_the_jira_webhook_with_the_configured_secret(tmp_path, runner, monkeypatch):
    secrets(monkeypatch)
    body = json.loads((JSM["folder"] / "api" / "webhook_register__request.json").read_text(encoding="utf-8"))
    body["description"] = "Support tier and SLA due dates (POST /webhooks/jira-service-management)."
    answer = json.loads((JSM["folder"] / "api" / "webhook_registered.json").read_text(encoding="utf-8"))
    fields = json.loads((JSM["folder"] / "api" / "fields.json").read_text(encoding="utf-8"))
    responses.get(
        f"{JSM['settings']['base_url']}/rest/api/3/field",
        json=fields,
        match=[matchers.header_matcher(JSM["request_headers"])],
    )
    created = responses.post(
        f"{JSM['settings']['base_url']}/rest/webhooks/1.0/webhook",
        json=answer,
        status=201,
        match=[matchers.json_params_matcher(body), matchers.header_matcher(JSM["request_headers"])],
    )
    result = runner.invoke(
        cli,
        [
            "install",
            "jira-service-management",
            "--config",
            str(toml(tmp_path)),
            "--url",
            "https://connector.example.com",
            "--apply",
        ],
    )
    assert result.exit_code == 0, result.output
    assert created.call_count == 1 and "Created admin webhook 12" in result.stdout
    assert JSM["settings"]["webhook_secret"] not in result.output


def test_install_apply_without_the_jql_is_an_error_naming_the_key(tmp_path, runner, monkeypatch):
    secrets(monkeypatch)
    result = runner.invoke(
        cli,
        [
            "install",
            "jira-service-management",
            "--config",
            str(toml(tmp_path, jql=None)),
            "--url",
            "https://connector.example.com",
            "--apply",
        ],
    )
    assert result.exit_code == 2 and "platforms.jira-service-management.options.jql" in result.stderr


def test_install_freshdesk_prints_the_three_rules_and_creates_nothing(tmp_path, runner, monkeypatch):
    secrets(monkeypatch)
    with responses.RequestsMock(assert_all_requests_are_fired=True):  # any API call would fail here
        result = runner.invoke(
            cli,
            [
                "install",
                "freshdesk",
                "--config",
                str(toml(tmp_path)),
                "--url",
                "https://connector.example.com",
                "--apply",
            ],
        )
    assert result.exit_code == 0, result.output
    assert "nothing was created" in result.stdout and result.stdout.count("Rule ") == 3
    assert "Set credentials.api_key to have --apply check the custom fields" in result.stdout
    assert "Callback URL: https://connector.example.com/webhooks/freshdesk" in result.stdout
    assert FD["settings"]["webhook_secret"] not in result.output
