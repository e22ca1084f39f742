"""Every command the README and the commands' --help show is checked against the code, and every
example that needs no live platform is run as written against examples/, so docs and code cannot
drift: the subcommand exists, each documented option exists, and the example succeeds."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from connector.cli import COMMANDS, cli

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
# File names the docs use for the reader's own files, and what stands for them here (your.toml:
# the README's "Against your platform" starts it as a copy of the Zendesk example).
STAND_INS = {
    "registry.json": "examples/registry.json",
    "exports/": "tests/fixtures/registry/csv/",
    "your.toml": "examples/connector.toml",
}
# Examples that need something this test does not start (a live platform, a server, another
# host): only their options are checked here; each is run for real by the test named.
NEEDS_MORE = {
    "serve": "tests/test_cli_platform.py (a real serve)",
    "worker": "tests/test_worker.py",
    "send-test-event": "tests/test_cli_platform.py",
    "install": "tests/test_zendesk_install.py",
    "recompute": "tests/test_recompute.py",
    "replay": "tests/test_cli_platform.py",
    ("kb", "sync"): "tests/test_cli_kb.py",
    ("mailing-list", "--sync"): "tests/test_mailing.py",
    "CONNECTOR_DATABASE_URL=postgresql": "another host's database",
}


def documented() -> list[tuple[str, str]]:
    """(where, command line) of every `connector ...` line in the README's shell blocks and in
    each command's --help examples, continuation lines joined."""
    found = []
    for block in re.findall(r"```(?:sh|bash)\n(.*?)```", README.read_text(encoding="utf-8"), re.S):
        found += [("README", line) for line in _lines(block)]
    for name in sorted(COMMANDS):
        command = cli.get_command(click.Context(cli), name)
        texts = [command.help or ""]
        if isinstance(command, click.Group):
            texts += [sub.help or "" for sub in command.commands.values()]
        for text in texts:
            if "Examples:" in text:
                found += [(f"connector {name} --help", line) for line in _lines(text.split("Examples:", 1)[1])]
    return [(where, line) for where, line in found if re.search(r"(^|\s|/|\|\s*)connector\s", line)]


def _lines(text: str) -> list[str]:
    joined, out = "", []
    for raw in text.splitlines():
        line = raw.strip()
        joined = f"{joined} {line[:-1].strip()}" if line.endswith("\\") else f"{joined} {line}"
        if not line.endswith("\\"):
            if joined.strip():
                out.append(joined.strip())
            joined = ""
    return out


def parts(line: str) -> list[str]:
    """The connector invocation of a line: its arguments after `connector`, comments and
    redirections dropped, a pipeline's connector side only."""
    line = line.split(" # ")[0]
    segment = next(s for s in line.split("|") if re.search(r"(^|\s|/)connector\s", s))
    words = shlex.split(segment.replace("[", " ").replace("]", " "))
    words = words[next(i for i, w in enumerate(words) if w == "connector" or w.endswith("bin/connector")) + 1 :]
    return [w for w in words if w not in (">",) and not w.endswith((".csv",)) or w.startswith("-")]


def needs_more(line: str, args: list[str]) -> str | None:
    for key, why in NEEDS_MORE.items():
        if isinstance(key, tuple) and tuple(args[:1]) == key[:1] and key[1] in args:
            return why
        if isinstance(key, str) and (args[:1] == [key] or line.startswith(key)):
            return why
    return None


def is_synopsis(line: str) -> bool:
    """A usage line with placeholders rather than an example."""
    return bool(re.search(r"\[|\.\.\.|\bPLATFORM\b|\bID\b|YYYY|\bFILE\b|\| --", line))


CASES = documented()


def test_the_docs_show_examples_of_the_main_commands():
    shown = {parts(line)[0] for _, line in CASES}
    assert {"due", "entitlement", "import", "events", "kb", "report", "mailing-list", "serve"} <= shown


@pytest.mark.parametrize("where,line", CASES, ids=[f"{w}: {line[:60]}" for w, line in CASES])
def test_every_documented_option_exists(where, line):
    args = parts(line)
    command: click.Command = cli
    path: list[str] = []
    words = iter(args)
    for word in words:
        if word.startswith("-"):  # a group's own option (events --config F prune): skip its value
            option = next((p for p in command.params if word.split("=")[0] in getattr(p, "opts", [])), None)
            if option is not None and not getattr(option, "is_flag", False) and "=" not in word:
                next(words, None)
        elif isinstance(command, click.Group):
            sub = command.get_command(click.Context(command), word)
            assert sub is not None, f"{where}: `{line}`: no command {' '.join(path + [word])!r}"
            command, path = sub, path + [word]
    known = {opt for param in command.params for opt in getattr(param, "opts", [])} | {"-h", "--help"}
    for word in args:
        if word.startswith("--"):
            assert word.split("=")[0] in known, f"{where}: `{line}`: `connector {' '.join(path)}` has no {word}"


RUNNABLE = [
    (w, line)
    for w, line in CASES
    if not is_synopsis(line) and not needs_more(line, parts(line)) and not line.startswith((".venv/bin/python", "curl"))
]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """A directory with examples/ and the fixtures reachable as the docs name them, and a
    database holding the example registry (what `make run` imports)."""
    work = tmp_path_factory.mktemp("docs")
    (work / "examples").symlink_to(ROOT / "examples")
    (work / "tests").symlink_to(ROOT / "tests")
    db = f"sqlite:///{work / 'connector.db'}"
    done = CliRunner().invoke(cli, ["import", str(ROOT / "examples" / "registry.json"), "--database", db, "-q"])
    assert done.exit_code == 0, done.output
    return work, db


@pytest.mark.parametrize("where,line", RUNNABLE, ids=[f"{w}: {line[:60]}" for w, line in RUNNABLE])
def test_every_runnable_example_runs_as_written(workdir, where, line, tmp_path, monkeypatch):
    """In-process (click's runner: a process per example would cost the suite a minute), from a
    directory where examples/ is what the docs name; a pipe's input and a redirection as bash
    would make them."""
    work, template = workdir
    shutil.copy(template.removeprefix("sqlite:///"), tmp_path / "connector.db")  # examples may change it
    monkeypatch.setenv("CONNECTOR_DATABASE_URL", f"sqlite:///{tmp_path / 'connector.db'}")
    monkeypatch.delenv("CONNECTOR_CONFIG", raising=False)
    monkeypatch.chdir(work)
    feed, _, command = line.rpartition("|") if re.match(r"^printf .*\|", line) else ("", "", line)
    stdin = subprocess.run(["bash", "-c", feed], capture_output=True, text=True, check=True).stdout if feed else None
    command, _, target = command.split(" # ")[0].partition(" > ")
    args = [STAND_INS.get(word, word) for word in shlex.split(command)]
    args = args[next(i for i, w in enumerate(args) if w == "connector" or w.endswith("bin/connector")) + 1 :]
    result = CliRunner().invoke(cli, args, input=stdin, catch_exceptions=False)
    assert result.exit_code == 0, f"{where}: `{line}` exited {result.exit_code}:\n{result.output[-2000:]}"
    if target.strip():
        Path(target.strip()).write_text(result.stdout, encoding="utf-8")
    shown = line.partition(" # ")[2].strip()
    if re.fullmatch(r"\d{4}-\d\d-\d\dT[\d:]+[+-]\d\d:\d\d", shown):  # the docs say what it prints
        assert result.stdout.strip() == shown, f"{where}: `{line}` printed {result.stdout.strip()}"
