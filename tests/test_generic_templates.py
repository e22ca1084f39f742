"""The generic platform's templates and selectors, table-driven: what a write body carries for
which changes, how values render, how facts are found in listed answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from connector.platforms.generic.sources import Selector, moment
from connector.platforms.generic.templates import DROP, Template, TemplateError, compile_body, render_body

MSK = timezone(timedelta(hours=3))
VALUES = {
    "ticket_id": "42",
    "tier": "warranty",
    "first_response_due": datetime(2024, 5, 13, 18, 0, 0, 412000, MSK),
    "resolution_due": None,
    "flags": ["portal_on_basic", "unknown_product"],
    "assignee": None,
    "note": "Hi",
    "params.queue": "7",
}
BODY = {
    "fields": {"tier": "{tier}", "due": "{first_response_due}", "res": "{resolution_due}"},
    "tags": "{flags}",
    "tag_text": "{flags: / }",
    "queue": "{params.queue}",
    "kind": "sla",
    "comment": {"text": "{note}", "internal": True},
}


@pytest.mark.parametrize(
    "changed,expected",
    [
        ({"tier"}, {"fields": {"tier": "warranty"}, "queue": "7", "kind": "sla"}),
        (
            {"first_response_due", "resolution_due"},
            {"fields": {"due": "2024-05-13T18:00:00.412000+03:00", "res": None}, "queue": "7", "kind": "sla"},
        ),
        (
            {"flags"},
            {
                "tags": ["portal_on_basic", "unknown_product"],
                "tag_text": "portal_on_basic / unknown_product",
                "queue": "7",
                "kind": "sla",
            },
        ),
        ({"note"}, {"queue": "7", "kind": "sla", "comment": {"text": "Hi", "internal": True}}),
        (set(), DROP),
        ({"assignee"}, DROP),  # named nowhere in this body
    ],
)
def test_a_body_carries_what_changed_and_its_constants(changed, expected):
    assert render_body(compile_body(BODY), VALUES, changed, None) == expected


def test_moments_take_a_strftime_format_in_the_trackers_zone():
    body = compile_body({"due": "{first_response_due:%Y-%m-%d %H:%M:%S}", "text": "due {first_response_due:%H:%M}"})
    assert render_body(body, VALUES, {"first_response_due"}, ZoneInfo("UTC")) == {
        "due": "2024-05-13 15:00:00",
        "text": "due 15:00",
    }


def test_path_values_are_quoted():
    path = Template.parse("/tickets/{ticket_id}/x")
    assert path.render({"ticket_id": "a/b?c"}, in_path=True) == "/tickets/a%2Fb%3Fc/x"


@pytest.mark.parametrize(
    "text,message",
    [
        ("{tier", "unbalanced '{'"),
        ("tier}", "unbalanced '}'"),
        ("{Tier}", "is not a placeholder"),
        ("{ }", "is not a placeholder"),
        ("{credentials.}", "is not a placeholder"),
    ],
)
def test_broken_templates_are_named(text, message):
    with pytest.raises(TemplateError, match=message):
        Template.parse(text)


def test_literal_braces():
    assert Template.parse('{{"a": {tier}}}').render({"tier": 1}) == '{"a": 1}'


ANSWERS = {
    "actors": [{"type": 2, "users_id": 5}, {"type": 1, "users_id": 7}, {"type": 1, "users_id": 9}],
    "emails": [{"email": "old@x.example", "is_default": 0}, {"email": "pavel@x.example", "is_default": 1}],
    "ticket": {"a~b": {"c/d": 3}},
}


@pytest.mark.parametrize(
    "spec,found",
    [
        ({"from": "actors", "where": {"/type": 1}, "value": "/users_id"}, 7),  # the first match; 1 equals "1"
        ({"from": "actors", "where": {"/type": "1"}, "value": "/users_id"}, 7),
        ({"from": "emails", "where": {"/is_default": 1}, "value": "/email"}, "pavel@x.example"),
        ({"from": "actors", "where": {"/type": 3}, "value": "/users_id"}, None),
        ({"from": "ticket", "value": "/x"}, None),  # not a list
        ("ticket/a~0b/c~1d", 3),  # RFC 6901 escapes
        ("ticket/missing", None),
        ("nowhere/x", None),
    ],
)
def test_selectors_find_facts_in_answers(spec, found):
    assert Selector.parse(spec).first(ANSWERS) == found


@pytest.mark.parametrize(
    "value,expected",
    [
        ("2024-05-13T07:00:00.412Z", datetime(2024, 5, 13, 7, 0, 0, 412000, UTC)),
        ("2024-05-13 10:00:00", datetime(2024, 5, 13, 7, 0, tzinfo=UTC)),  # naive: in time_zone
        ("0000-00-00 00:00:00", None),
        ("", None),
        (None, None),
        (1715583600, datetime(2024, 5, 13, 7, 0, tzinfo=UTC)),
    ],
)
def test_tracker_times(value, expected):
    assert moment(value, ZoneInfo("Europe/Moscow")) == expected


def test_a_naive_time_without_a_zone_says_what_to_set():
    with pytest.raises(ValueError, match="set options.time_zone"):
        moment("2024-05-13 10:00:00", None)
