"""What the suite holds itself to, checked so that it stays so: every `responses` mock asserts that
all its registered calls fired (assert_all_requests_are_fired=True), a phase of a test ends with
tests/support/http.py's all_fired_then_reset rather than a bare reset (which would skip that
check), and a call that matches nothing registered fails the test even where the code under test
swallows the ConnectionError `responses` raises for it."""

from __future__ import annotations

import ast
from pathlib import Path

import requests
import responses

ROOT = Path(__file__).resolve().parents[1]
TESTS = ROOT / "tests"
HELPER = TESTS / "support" / "http.py"


def _strict(call: ast.Call) -> bool:
    return any(
        k.arg == "assert_all_requests_are_fired" and isinstance(k.value, ast.Constant) and k.value.value is True
        for k in call.keywords
    )


def _loose_mocks(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, what) of each `responses` use that is not strict."""
    calls = {id(n.func): n for n in ast.walk(tree) if isinstance(n, ast.Call)}
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute):
            continue
        call = calls.get(id(node))
        owner = node.value.id if isinstance(node.value, ast.Name) else None
        if node.attr == "activate" and owner == "responses" and (call is None or not _strict(call)):
            found.append((node.lineno, "responses.activate without assert_all_requests_are_fired=True"))
        elif node.attr == "RequestsMock" and call is not None and not _strict(call):  # not an annotation
            found.append((node.lineno, "RequestsMock without assert_all_requests_are_fired=True"))
        elif node.attr in ("reset", "start") and owner == "responses" and call is not None:
            found.append((node.lineno, f"responses.{node.attr}() (use tests/support/http.py)"))
    return found


def test_every_responses_mock_asserts_that_all_its_calls_fired():
    bad = [
        f"{path.relative_to(ROOT)}:{line}: {what}"
        for path in sorted(TESTS.rglob("*.py"))
        if path != HELPER
        for line, what in _loose_mocks(ast.parse(path.read_text(encoding="utf-8"), str(path)))
    ]
    assert not bad, "\n".join(bad)


def test_the_strictness_check_catches_what_it_should():
    source = (
        "@responses.activate\ndef a(): pass\n"
        "@responses.activate(assert_all_requests_are_fired=False)\ndef b(): pass\n"
        "@responses.activate(assert_all_requests_are_fired=True)\ndef c(): pass\n"
        "with responses.RequestsMock() as m: pass\n"
        "with responses.RequestsMock(assert_all_requests_are_fired=True) as m: pass\n"
        "responses.reset()\nresponses.start()\nfake.reset()\ndef d(mock: responses.RequestsMock): pass\n"
    )
    assert sorted(line for line, _ in _loose_mocks(ast.parse(source))) == [1, 3, 7, 9, 10]


def test_an_unexpected_call_fails_the_test_even_when_the_code_swallows_it(unexpected_http_calls):
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        mock.get("https://platform.invalid/expected", json={})
        requests.get("https://platform.invalid/expected", timeout=1)
        try:  # as a worker that retries later would
            requests.get("https://platform.invalid/unexpected", timeout=1)
        except requests.ConnectionError:
            pass
    assert unexpected_http_calls == ["GET https://platform.invalid/unexpected"]
    unexpected_http_calls.clear()  # here it is the point; anywhere else it fails the test at teardown
