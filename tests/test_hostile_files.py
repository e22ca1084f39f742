"""Files admins write (config, secret, calendar, .ics days off, policy) that are not UTF-8 or not
what they claim: each gives `error: ...` naming the file and exit code 2 on the command line, or a
`BadInput` from the loader, never a traceback. The found cases live in tests/fixtures/hostile/files/
(cases.json says what each must say); raw bytes are fuzzed on a fixed budget."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import pytz
from hypothesis import given
from hypothesis import strategies as st

from connector.cli import cli
from connector.config.calendars import load_calendar_file
from connector.config.ics import ics_days_off
from connector.config.policies import load_policy
from connector.config.settings import load_config
from connector.core.errors import ConnectorError
from tests.support.hostile import budget

MOSCOW = pytz.timezone("Europe/Moscow")
FILES = Path(__file__).parent / "fixtures" / "hostile" / "files"
CASES = json.loads((FILES / "cases.json").read_text(encoding="utf-8"))


def command_for(case: dict, tmp_path: Path) -> list[str]:
    """The command line that reads the case's file the way an admin's setup would."""
    path = FILES / case["file"]
    if case["kind"] == "config":
        return ["events", "--config", str(path)]
    if case["kind"] == "secret":
        config = tmp_path / "connector.toml"
        config.write_text(
            f'database_url = "sqlite:///{tmp_path / "c.db"}"\n[platforms.zendesk]\nwebhook_secret_file = "{path}"\n',
            encoding="utf-8",
        )
        return ["entitlement", "--config", str(config), "--email", "ann@alpha.example"]
    if case["kind"] == "ics":
        calendar = tmp_path / "office.toml"
        calendar.write_text(f'name = "office"\nzone = "Europe/Moscow"\ndays_off_ics = ["{path}"]\n', encoding="utf-8")
        path = calendar
    return ["due", "--start", "2026-11-24T10:00:00+03:00", "--hours", "1", "--calendar", str(path)]


@pytest.mark.parametrize("case", [c for c in CASES if c["kind"] != "policy"], ids=lambda c: c["file"])
def test_a_hostile_file_is_an_error_naming_it(case, runner, tmp_path):
    done = runner.invoke(cli, command_for(case, tmp_path))
    assert done.exit_code == 2, (done.output, done.exception)
    assert done.stderr.startswith("error: ") and case["expected"] in done.stderr, done.stderr
    assert case["file"] in done.stderr


@pytest.mark.parametrize("case", [c for c in CASES if c["kind"] == "policy"], ids=lambda c: c["file"])
def test_a_hostile_policy_file_is_bad_input(case):
    with pytest.raises(ConnectorError, match=case["expected"]):
        load_policy(FILES / case["file"])


@pytest.mark.parametrize("suffix", [".toml", ".json", ".ics"])
def test_raw_bytes_as_config_calendar_and_days_off(tmp_path, suffix):
    path = tmp_path / f"file{suffix}"

    @budget(80)
    @given(st.one_of(st.binary(max_size=300), st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass"))))
    def check(raw):
        path.write_bytes(raw)
        loaders = (
            [lambda: ics_days_off(path, MOSCOW)]
            if suffix == ".ics"
            else [lambda: load_calendar_file(path)] + ([lambda: load_config(path)] if suffix == ".toml" else [])
        )
        for load in loaders:
            try:
                load()
            except ConnectorError as exc:
                assert str(exc).strip()

    check()
