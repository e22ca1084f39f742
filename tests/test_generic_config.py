"""The generic platform's mapping is checked when the connector starts: a malformed or
misconfigured mapping (a bad JSON Pointer, a template naming an unknown value, a read that does
not exist, an unknown preset, what a preset leaves to fill in) is a start-up error naming the key,
from the TOML file (`connector serve`, `connector install`) and from a config document alike."""

from __future__ import annotations

import pytest

from connector.cli import cli
from connector.composition import compose, configuration
from connector.config.settings import config_from_mapping
from connector.core.errors import ValidationFailed
from connector.platforms import settings_schemas

ZAMMAD = """
[platforms.generic]
base_url = "https://zammad.example.com"
webhook_secret = "zammad-fixture-token-3e7a91c2"
[platforms.generic.credentials]
api_token = "api-token-for-tests"
[platforms.generic.options]
preset = "zammad"
"""


def load(tmp_path, text):
    path = tmp_path / "connector.toml"
    path.write_text(text, encoding="utf-8")
    return configuration(path)


def problems_of(tmp_path, text):
    with pytest.raises(ValidationFailed) as caught:
        load(tmp_path, text)
    return caught.value.problems


def test_the_zammad_preset_loads_as_documented(tmp_path):
    settings = load(tmp_path, ZAMMAD).platforms["generic"]
    assert settings.options == {"preset": "zammad"} and settings.credentials == {"api_token": "api-token-for-tests"}


@pytest.mark.parametrize(
    "extra,key,message",
    [
        (
            '[platforms.generic.options.event]\nticket_id = "ticket/id"',
            "platforms.generic.options.event.ticket_id",
            "is not a JSON Pointer",
        ),
        (
            '[platforms.generic.options.facts]\ncreated_at = "ticket/created_at~2"',
            "platforms.generic.options.facts.created_at",
            "is not a JSON Pointer",
        ),
        (
            '[platforms.generic.options.facts]\nrequester_email = "requester/email"',
            "platforms.generic.options.facts.requester_email",
            "no read named 'requester'",
        ),
        (
            '[platforms.generic.options.read.customer]\npath = "/api/v1/users/{customer_id}"\n'
            'with = {customer_id = "history/x"}',
            "platforms.generic.options.read.customer.with.customer_id",
            "no read named 'history' before it",
        ),
        (
            '[platforms.generic.options.read.ticket]\npath = "/api/v1/tickets/{ticket}"',
            "platforms.generic.options.read.ticket.path",
            "unknown value {ticket}",
        ),
        (
            '[platforms.generic.options.read.ticket]\npath = "/api/v1/tickets/{ticket_id}?key={credentials.api_token}"',
            "platforms.generic.options.read.ticket.path",
            "never in a URL",
        ),
        (
            '[[platforms.generic.options.write]]\nmethod = "PUT"\npath = "/api/v1/tickets/{ticket_id}"\n'
            'body = {sla_tier = "{teir}"}',
            "platforms.generic.options.write[0].body.sla_tier",
            "unknown value {teir}",
        ),
        (
            '[[platforms.generic.options.write]]\nmethod = "PUT"\npath = "/api/v1/tickets/{ticket_id}"\n'
            'body = {x = "{tier"}',
            "platforms.generic.options.write[0].body.x",
            "unbalanced '{'",
        ),
        (
            '[[platforms.generic.options.write]]\nmethod = "PUT"\npath = "/t/{ticket_id}"\nbody = {title = "fixed"}',
            "platforms.generic.options.write[0].body",
            "it would never be sent",
        ),
        (
            '[[platforms.generic.options.write]]\nmethod = "PUT"\npath = "/t/{ticket_id}"\nbody = {t = "{tier:%Y}"}',
            "platforms.generic.options.write[0].body.t",
            "tier takes no format",
        ),
        (
            '[[platforms.generic.options.write]]\nmethod = "PUT"\npath = "/t/{ticket_id}"\nbody = {p = "{topic}"}',
            "platforms.generic.options.write[0].body.p",
            "unknown value {topic}",
        ),
        (
            '[[platforms.generic.options.write]]\nmethod = "PUT"\npath = "/t/{ticket_id}"\n'
            'body = {p = "{params.queue} {tier}"}',
            "platforms.generic.options.write[0].body.p",
            "needs options.params.queue",
        ),
        (
            '[[platforms.generic.options.write]]\nmethod = "DELETE"\npath = "/t/{ticket_id}"\nbody = {t = "{tier}"}',
            "platforms.generic.options.write.0.method",
            "'DELETE' is not one of",
        ),
        (
            '[platforms.generic.options.carried]\nnothing = "ticket/x"',
            "platforms.generic.options.carried",
            "'nothing' was unexpected",
        ),
        (
            '[platforms.generic.options.statuses]\n"pending reminder" = "waiting"',
            "platforms.generic.options.statuses.pending reminder",
            "'waiting' is not one of",
        ),
        (
            '[platforms.generic.options.values.request_type]\nbug = "defect"',
            "platforms.generic.options.values.request_type.bug",
            "'defect' is not one of",
        ),
        ('time_zone = "Mars/Olympus"', "platforms.generic.options.time_zone", "not an IANA time zone"),
        (
            '[platforms.generic.options.signature]\nscheme = "hmac"\nheader = ""',
            "platforms.generic.options.signature.header",
            "does not match",
        ),
        (
            '[platforms.generic.options.signature]\nscheme = "header-token"\nheader = "X-Token"\nprefix = "Bearer "\n'
            "tolerance_seconds = 300",
            "platforms.generic.options.signature.tolerance_seconds",
            "needs timestamp_header",
        ),
        (
            '[platforms.generic.options.signature]\nsigned = "{timestamp}.{body}"',
            "platforms.generic.options.signature.signed",
            "{timestamp} needs timestamp_header",
        ),
        (
            '[platforms.generic.options.signature]\nsigned = "{body}{body}"',
            "platforms.generic.options.signature.signed",
            "sign {body} once",
        ),
        (
            '[platforms.generic.options.api.headers]\nAuthorization = "Token token={credentials.api_key}"',
            "platforms.generic.options.api.headers.Authorization",
            "needs platforms.generic.credentials.api_key",
        ),
        (
            '[platforms.generic.options.api.headers]\nX-Session = "{session}"',
            "platforms.generic.options.api.headers.X-Session",
            "unknown value {session}",
        ),
        ("no_such_option = 1", "platforms.generic.options", "'no_such_option' was unexpected"),
        (
            '[platforms.generic.options.facts]\nrequester_email = {from = "customer", valu = "/email"}',
            "platforms.generic.options.facts.requester_email",
            "unknown key(s) valu",
        ),
        (
            '[platforms.generic.options.facts]\nrequester_email = {from = "customer", where = {"/x" = [1]}}',
            "platforms.generic.options.facts.requester_email",
            "where maps JSON Pointers to plain values",
        ),
    ],
)
def test_a_misconfigured_mapping_is_a_start_up_error_naming_the_key(tmp_path, extra, key, message):
    problems = problems_of(tmp_path, ZAMMAD + extra + "\n")
    assert any(p.startswith(key + ":") and message in p for p in problems), problems


def test_an_unknown_preset_is_named(tmp_path):
    problems = problems_of(tmp_path, ZAMMAD.replace('preset = "zammad"', 'preset = "redmine"'))
    assert problems == ["platforms.generic.options.preset: 'redmine' is not one of ['glpi', 'zammad']"]


def test_a_write_that_cannot_be_read_back_is_refused(tmp_path):
    """Without a place to read the tier back, every event would write it and the note again."""
    problems = problems_of(
        tmp_path,
        ZAMMAD.replace(
            'preset = "zammad"',
            """
[platforms.generic.options.signature]
scheme = "url-token"
[platforms.generic.options.event]
ticket_id = "/id"
[platforms.generic.options.read.ticket]
path = "/tickets/{ticket_id}"
[platforms.generic.options.facts]
created_at = "ticket/created"
[[platforms.generic.options.write]]
method = "PATCH"
path = "/tickets/{ticket_id}"
body = {tier = "{tier}", comment = "{note}"}
""",
        ),
    )
    assert (
        "platforms.generic.options.carried.tier: the write-back writes {tier} but nothing says where to read "
        "it back: every event would write it again" in problems
    )


def test_a_mapping_without_preset_must_say_everything(tmp_path):
    problems = problems_of(tmp_path, ZAMMAD.replace('preset = "zammad"', 'time_zone = "UTC"'))
    assert {p.split(":")[0] for p in problems} >= {
        "platforms.generic.options.signature",
        "platforms.generic.options.event.ticket_id",
        "platforms.generic.options.read",
        "platforms.generic.options.facts.created_at",
        "platforms.generic.options.write",
    }
    assert all("required (no preset gives it)" in p for p in problems)


def test_the_glpi_preset_needs_the_time_zone_and_its_token(tmp_path):
    problems = problems_of(
        tmp_path,
        """
[platforms.generic]
webhook_secret = "Gl9x2Qm4Vt7Rk1Zp8Hs3Wd6Yf0Nb5Lc2Jq7Ue4Ta"
[platforms.generic.options]
preset = "glpi"
""",
    )
    assert problems == [
        "platforms.generic.options.time_zone: GLPI's API gives date-times without an offset, in its API user's "
        "time zone: set time_zone to that zone (e.g. Europe/Moscow)",
        "platforms.generic.base_url: the tracker's API base URL is required (the webhook only notifies; the API "
        "is read)",
        "platforms.generic.options.api.session.headers.Authorization: {credentials.user_token} needs "
        "platforms.generic.credentials.user_token (or _env / _file)",
    ]


def test_every_problem_is_listed_at_once(tmp_path):
    problems = problems_of(
        tmp_path,
        ZAMMAD
        + """time_zone = "Nowhere/Else"
[platforms.generic.options.facts]
created_at = "nowhere/created_at"
""",
    )
    assert len(problems) == 2


def test_compose_refuses_a_config_document_with_a_bad_mapping(tmp_path):
    """The composition root checks too: create_app(test_config=...) and the contract suite
    build the adapters without going through the TOML loader."""
    config = config_from_mapping(
        {
            "platforms": {
                "generic": {
                    "base_url": "https://t.example",
                    "webhook_secret": "s" * 20,
                    "credentials": {"api_token": "x"},
                    "options": {"preset": "zammad", "facts": {"product": "ticket/product~9"}},
                }
            }
        },
        tmp_path,
        "test",
        settings_schemas(),
    )
    with pytest.raises(ValidationFailed, match="misconfigured") as caught:
        compose(config)
    assert caught.value.problems == [
        "platforms.generic.options.facts.product: 'ticket/product~9': '/product~9' is "
        "not a JSON Pointer: Found invalid escape ~9"
    ]


def test_connector_serve_stops_with_the_error_and_exit_2(tmp_path, runner):
    path = tmp_path / "connector.toml"
    path.write_text(ZAMMAD + '[platforms.generic.options.carried]\ntier = "ticket/sla_tier/~x"\n', encoding="utf-8")
    result = runner.invoke(cli, ["serve", "--config", str(path)])
    assert result.exit_code == 2
    assert "error: platforms.generic is misconfigured (1 problem(s))" in result.stderr
    assert (
        "platforms.generic.options.carried.tier: 'ticket/sla_tier/~x': '/sla_tier/~x' is not a JSON Pointer"
        in result.stderr
    )
