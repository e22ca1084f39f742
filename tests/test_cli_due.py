"""`connector due`: single and batch, bad input with exit code 2 and no traceback."""

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from connector.cli import cli


@pytest.fixture
def run():
    def invoke(*args, stdin=None):
        return CliRunner().invoke(cli, ["due", *args], input=stdin)

    return invoke


@pytest.mark.parametrize(
    "args,out",
    [
        (["--start", "2026-12-30T15:00:00+03:00", "--hours", "16"], "2027-01-12T15:00:00+03:00"),
        (["--start", "2026-11-24T10:00:00+03:00", "--hours", "8"], "2026-11-24T18:00:00+03:00"),
        (["--start", "2026-04-30T16:00:00+03:00", "--hours", "8"], "2026-05-04T17:00:00+03:00"),
        (["--start", "2026-04-30T16:00:00+03:00", "--hours", "8", "--no-shortened"], "2026-05-04T16:00:00+03:00"),
        (["--start", "2026-11-24T07:00:00Z", "--hours", "1.5"], "2026-11-24T11:30:00+03:00"),
        (["--start", "2026-11-24T09:00:00", "--zone", "Europe/Berlin", "--hours", "1"], "2026-11-24T12:00:00+03:00"),
        (["--start", "2026-11-28T12:00:00+00:00", "--hours", "2", "--calendar", "24x7"], "2026-11-28T14:00:00+00:00"),
    ],
)
def test_due(run, args, out):
    result = run(*args)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == out


@pytest.mark.parametrize(
    "args,message",
    [
        (["--start", "2026-12-30T15:00:00", "--hours", "16"], "has no UTC offset"),
        (["--start", "2026-12-30T15:00:00", "--zone", "Nowhere/Town", "--hours", "1"], "unknown time zone"),
        (["--start", "yesterday", "--hours", "16"], "not an ISO 8601"),
        (["--start", "2026-12-30T15:00:00Z", "--hours", "-1"], "finite number >= 0"),
        (["--start", "2026-12-30T15:00:00Z", "--hours", "nan"], "finite number >= 0"),
        (["--start", "2026-12-30T15:00:00Z", "--hours", "many"], "not a valid float"),
        (["--start", "2026-12-30T15:00:00Z"], "give --start and --hours"),
        (
            ["--start", "2026-12-30T15:00:00Z", "--hours", "1", "--calendar", "missing.toml"],
            "cannot read calendar file",
        ),
    ],
)
def test_bad_input_exits_2_with_a_message(run, args, message):
    result = run(*args)
    assert result.exit_code == 2
    assert message in result.stderr and "Traceback" not in result.output


def test_batch_answers_in_order_and_names_bad_lines(run):
    lines = [
        '{"start": "2026-11-24T10:00:00Z", "hours": 40}',
        "not json",
        '{"start": "2026-11-24T10:00:00"}',
        "",
        '{"start": "2027-12-31T10:00:00+03:00", "hours": 10}',
        '{"start": 5, "hours": 1}',
    ]
    result = run("--batch", stdin="\n".join(lines) + "\n")
    assert result.exit_code == 2
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert answers == [
        {"start": "2026-11-24T10:00:00Z", "hours": 40, "due": "2026-12-01T13:00:00+03:00"},
        {"start": "2027-12-31T10:00:00+03:00", "hours": 10, "due": "2028-01-11T12:00:00+03:00", "provisional": True},
    ]
    for number in (2, 3, 6):
        assert f"line {number}:" in result.stderr
    assert "3 line(s) failed" in result.stderr


def test_batch_all_good_exits_0(run):
    result = run("--batch", "--no-shortened", stdin='{"start": "2026-04-30T16:00:00+03:00", "hours": 8}\n')
    assert result.exit_code == 0 and json.loads(result.stdout)["due"] == "2026-05-04T16:00:00+03:00"


def test_console_script_runs():
    """The installed entry point, as a user calls it (python -m connector is the same code)."""
    done = subprocess.run(
        [sys.executable, "-m", "connector", "due", "--start", "2026-12-30T15:00:00+03:00", "--hours", "16"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0 and done.stdout.strip() == "2027-01-12T15:00:00+03:00"


@pytest.mark.parametrize("zone", [None, "Europe/Berlin"])
def test_batch_lines_as_json_dumps_writes_them_answer_as_any_other_json(zone):
    """The batch reads lines shaped as json.dumps writes them without json.loads; the same objects
    written another way (compact separators: json.loads) get the same answers and the same errors."""
    import io

    from connector.cli.due import _PLAIN_LINE, _batch
    from connector.config.calendars import load_calendar_file

    starts = [
        "2026-11-24T10:00:00Z",
        "2026-11-24T10:00:00+03:00",
        "2026-11-24T10:00:00.250000+05:30",
        "2026-11-24 10:00:00+03:00",
        "2026-11-24T10:00:00",
        " 2026-11-24T10:00:00Z",
        "2026-11-24T10:00:00Z ",
        "2027-12-31T17:00:00+03:00",
        "2026-13-01T10:00:00Z",
        "yesterday",
        "",
        "2026-11-24T10:00:00\u00a0Z",
    ]
    hours = ["0", "-0", "1", "1.0", "2.50", "0.1", "1e2", "1E+2", "25e-1", "-1", "1e999", "-0.0", "40"]
    plain = [f'{{"start": {json.dumps(s)}, "hours": {h}}}\n' for s in starts for h in hours]
    other = [line.replace('", "hours": ', '","hours":').replace('{"start": ', '{"start":') for line in plain]
    assert sum(bool(_PLAIN_LINE.match(line)) for line in plain) > len(plain) // 2
    assert not any(_PLAIN_LINE.match(line) for line in other)

    def answer(lines):
        out, err = io.StringIO(), io.StringIO()
        failed = _batch(load_calendar_file("default"), zone, lines, out, err)
        return failed, out.getvalue(), err.getvalue()

    failed, out, err = answer(plain)
    assert (failed, out, err) == answer(other)
    assert 0 < failed < len(plain) and out.count("\n") == len(plain) - failed
    assert '{"start": "2026-11-24T10:00:00Z", "hours": 1.0, "due": "2026-11-24T14:00:00+03:00"}' in out


def test_due_puts_the_calendar_log_level_back():
    """`due` quiets the engine's provisional warning for itself only: whatever runs in the same
    process afterwards (a service, the next test) still gets it."""
    import logging

    engine_log = logging.getLogger("connector.core.calendar")
    engine_log.setLevel(logging.NOTSET)  # as a fresh process has it
    result = CliRunner().invoke(cli, ["due", "--start", "2024-03-01T10:00:00+03:00", "--hours", "1"])
    assert result.exit_code == 0, result.output
    assert engine_log.level == logging.NOTSET
