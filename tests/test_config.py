"""The TOML config: secrets by value, environment or file; every mistake named by its key."""

from pathlib import Path

import pytest

from connector.composition import configuration as load_config
from connector.core.errors import BadInput, ValidationFailed

GOOD = """
database_url_env = "TEST_DB_URL"
[worker]
threads = 3
[platforms.zendesk]
base_url = "https://acme.zendesk.com"
webhook_secret_file = "secret.txt"
[platforms.zendesk.credentials]
email = "agent@acme.example"
api_token_env = "TEST_ZENDESK_TOKEN"
[platforms.zendesk.fields]
tier = 360001
"""


def write(tmp_path, text, name="connector.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_secrets_come_from_environment_and_files(tmp_path, monkeypatch):
    monkeypatch.setenv("TEST_DB_URL", "sqlite:///x.db")
    monkeypatch.setenv("TEST_ZENDESK_TOKEN", "tok-123")
    (tmp_path / "secret.txt").write_text("a-very-long-webhook-secret\n")
    config = load_config(write(tmp_path, GOOD))
    zendesk = config.platforms["zendesk"]
    # a relative SQLite path is relative to the config file, not to where the command runs
    assert config.database_url == f"sqlite:///{tmp_path / 'x.db'}" and config.worker["threads"] == 3
    assert zendesk.webhook_secret == "a-very-long-webhook-secret"
    assert zendesk.credentials == {"email": "agent@acme.example", "api_token": "tok-123"}
    assert zendesk.fields == {"tier": "360001"} and zendesk.dry_run is False


def test_the_config_file_comes_from_the_environment_too(tmp_path, monkeypatch):
    monkeypatch.setenv("CONNECTOR_CONFIG", str(write(tmp_path, "[server]\nport = 9999\n")))
    assert load_config().server["port"] == 9999
    monkeypatch.delenv("CONNECTOR_CONFIG")
    assert load_config().platforms == {}


@pytest.mark.parametrize(
    "text,message",
    [
        ("[server]\nport = 'eighty'\n", "/server/port"),
        ("[platforms.zendesk]\nbase_url = 'ftp://x'\n", "/platforms/zendesk/base_url"),
        ("colour = 'blue'\n", "colour"),
        ("[platforms.zendesk]\nwebhook_secret = 'short'\n", "/platforms/zendesk/webhook_secret"),
    ],
)
def test_schema_problems_name_the_key(tmp_path, text, message):
    with pytest.raises(ValidationFailed) as caught:
        load_config(write(tmp_path, text))
    assert message in str(caught.value)


@pytest.mark.parametrize(
    "text,message",
    [
        ("[platforms.zendesk]\nwebhook_secret_env = 'NOT_SET_ANYWHERE'\n", "platforms.zendesk.webhook_secret_env"),
        ("[platforms.zendesk]\nwebhook_secret_file = 'missing.txt'\n", "platforms.zendesk.webhook_secret_file"),
        ("[platforms.zendesk]\nwebhook_secret = '0123456789abcdef'\nwebhook_secret_env = 'X'\n", "give only one of"),
        ("[platforms.myspace]\nbase_url = 'https://x'\n", "unknown platform 'myspace'"),
        ("[server\n", "not valid TOML"),
    ],
)
def test_bad_configs_are_clear_errors(tmp_path, text, message):
    with pytest.raises((BadInput, ValidationFailed)) as caught:
        load_config(write(tmp_path, text))
    assert message in str(caught.value)


def test_a_missing_config_file_is_a_clear_error(tmp_path):
    with pytest.raises(BadInput, match="cannot read config file"):
        load_config(tmp_path / "nope.toml")


def test_a_missing_credential_names_the_forms_it_may_take():
    from connector.composition import adapters_for
    from connector.config.settings import config_from_mapping
    from connector.pipeline.metrics import Metrics
    from connector.platforms import settings_schemas

    doc = {"platforms": {"zendesk": {"base_url": "https://acme.zendesk.com", "credentials": {"email": "a@b.example"}}}}
    with pytest.raises(BadInput) as caught:
        adapters_for(config_from_mapping(doc, Path("."), "test", settings_schemas()), Metrics())
    assert "credentials.api_token (or api_token_env / api_token_file)" in str(caught.value)


def test_every_config_problem_is_named_in_one_run_secrets_included(tmp_path, monkeypatch):
    monkeypatch.delenv("NOT_SET_1", raising=False)
    monkeypatch.delenv("NOT_SET_2", raising=False)
    path = tmp_path / "c.toml"
    path.write_text(
        'database_url_env = "NOT_SET_1"\n[platforms.zendesk]\nwebhook_secret_env = "NOT_SET_2"\n'
        '[platforms.zendesk.credentials]\napi_token_file = "missing.txt"\n'
        '[platforms.zendesk.options]\nkb_tag = "has space"\n'
    )
    with pytest.raises(ValidationFailed) as caught:
        load_config(path)
    problems = "\n".join(caught.value.problems)
    assert (
        "config.database_url_env: environment variable NOT_SET_1 is not set (without database_url_env the default"
        " would be sqlite:///connector.db" in problems
    )
    assert "platforms.zendesk.webhook_secret_env: environment variable NOT_SET_2 is not set" in problems
    assert "platforms.zendesk.credentials.api_token_file: cannot read secret file" in problems
    assert "platforms.zendesk.options.kb_tag" in problems and len(caught.value.problems) == 4


@pytest.mark.parametrize(
    "url, message",
    [
        ("mysql://root@localhost/connector", "unsupported database 'mysql': use sqlite:///PATH"),
        ("oracle+cx://x", "unsupported database 'oracle'"),
    ],
)
def test_an_unsupported_database_names_the_supported_ones(tmp_path, url, message):
    path = tmp_path / "c.toml"
    path.write_text(f'database_url = "{url}"\n')
    with pytest.raises(ValidationFailed) as caught:
        load_config(path)
    assert any(message in p for p in caught.value.problems)


def test_worker_threads_zero_is_refused(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text("[worker]\nthreads = 0\n")
    with pytest.raises(ValidationFailed, match="is invalid") as caught:
        load_config(path)
    assert any("/worker/threads" in p for p in caught.value.problems)
