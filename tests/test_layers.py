"""The architecture holds: layers run one way (import-linter's contract in pyproject.toml), and the
domain core is pure: it imports only an allow-list (the standard library's plain parts, pytz and
holidays), and never reads files or the wall clock (the clock is passed in). The suite keeps a
direction of its own: its modules share code through tests/support/ only, never by importing a
test module, the conftest, a fixture plugin or the benchmarks (benchmarks may use tests/support/)."""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORE = ROOT / "connector" / "core"
TESTS = ROOT / "tests"
# fixture plugins: their fixtures reach every test through conftest's pytest_plugins, never an import
PLUGINS = {"helpdesk_fixture", "redmine_fixture"}
ALLOWED = {
    "__future__",
    "abc",
    "bisect",
    "calendar",
    "collections",
    "dataclasses",
    "datetime",
    "enum",
    "functools",
    "logging",
    "math",
    "re",
    "threading",
    "typing",
    "hashlib",
    "itertools",
    "statistics",
    "pytz",
    "holidays",
    "connector",
}
# calls that read files or the wall clock (the `time` module is not on the allow-list at all)
IMPURE_CALLS = {
    "open",
    "now",
    "utcnow",
    "today",
    "monotonic",
    "perf_counter",
    "read_text",
    "read_bytes",
    "write_text",
    "write_bytes",
    "getenv",
    "system",
    "popen",
}


def _imports(tree: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.add((node.module or "").split(".")[0])
    return names


def test_the_core_imports_only_its_allow_list():
    for path in sorted(CORE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        assert _imports(tree) <= ALLOWED, f"{path.name} imports {sorted(_imports(tree) - ALLOWED)}"
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("connector."):
                assert node.module.startswith("connector.core"), f"{path.name} imports {node.module}"


def test_the_core_reads_no_file_and_no_clock():
    for path in sorted(CORE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                assert name not in IMPURE_CALLS, f"{path.name}:{node.lineno} calls {name}()"


def test_the_allow_list_checks_catch_what_they_should():
    bad = ast.parse("import requests\nfrom datetime import datetime\nx = datetime.now()\nopen('f')\n")
    assert "requests" in _imports(bad) - ALLOWED
    calls = {
        n.func.attr if isinstance(n.func, ast.Attribute) else getattr(n.func, "id", "")
        for n in ast.walk(bad)
        if isinstance(n, ast.Call)
    }
    assert {"now", "open"} <= calls & IMPURE_CALLS


def test_importing_the_core_loads_no_web_http_or_database_package():
    code = (
        "import sys, pkgutil, importlib, connector.core as c\n"
        "for m in pkgutil.walk_packages(c.__path__, 'connector.core.'): importlib.import_module(m.name)\n"
        "print(' '.join(sorted({n.split('.')[0] for n in sys.modules})))"
    )
    loaded = set(
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
        ).stdout.split()
    )
    assert not loaded & {"flask", "werkzeug", "requests", "sqlalchemy", "alembic", "psycopg", "jsonschema"}


def test_adapters_never_decide_a_dry_run():
    """Dry runs are the services' decision (pipeline, KB sync and keeper, alert job), never an adapter's."""
    for path in sorted((ROOT / "connector" / "platforms").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            assert not (isinstance(node, ast.Attribute) and node.attr == "dry_run"), (
                f"{path.relative_to(ROOT)}:{node.lineno} reads dry_run"
            )


def _suite_module(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def _imported_modules(tree: ast.AST, module: str) -> set[str]:
    """The modules a module's imports name: `from a import b` names a, or a.b where b is a module
    (relative imports resolved against `module`)."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = module.split(".")[: -node.level]
                base = ".".join([*package, base] if base else package)
            if _not_shared_code(base):
                names.add(base)
            else:
                names |= {base} | {f"{base}.{a.name}" for a in node.names}
    return names


def _not_shared_code(name: str) -> bool:
    """True for what a suite module must not import: a test module (as tests.test_x, or bare as
    test_x through the folder pytest puts on sys.path), a conftest, a fixture plugin, the benchmarks."""
    parts = name.split(".")
    if parts[0] == "benchmarks":
        return True
    if parts[0] == "tests":
        parts = parts[1:]
        if not parts or parts[0] in ("support", "helpdesk_site"):
            return False
    return parts[0].startswith("test_") or parts[0] == "conftest" or parts[0] in PLUGINS


def test_test_modules_share_code_only_through_tests_support():
    bad = []
    for path in sorted(TESTS.rglob("*.py")):
        module = _suite_module(path)
        found = _imported_modules(ast.parse(path.read_text(encoding="utf-8"), str(path)), module)
        bad += [f"{path.relative_to(ROOT)} imports {name}" for name in sorted(found) if _not_shared_code(name)]
    assert not bad, "move what is shared to tests/support/:\n" + "\n".join(bad)


def test_the_suite_import_check_catches_what_it_should():
    source = (
        "from test_zendesk_api import BASE\nimport tests.test_alerts\nfrom tests.conftest import X\n"
        "from benchmarks.zendesk_stub import FakeZendesk\nfrom tests.redmine_fixture import redmine_live\n"
        "from . import test_web\nfrom .conftest import Y\nfrom tests import test_cli\n"
        "from tests.support.zendesk import BASE\nfrom tests.support import fakes\nimport pytest\n"
    )
    found = {n for n in _imported_modules(ast.parse(source), "tests.test_x") if _not_shared_code(n)}
    assert found == {
        "test_zendesk_api",
        "tests.test_alerts",
        "tests.conftest",
        "benchmarks.zendesk_stub",
        "tests.redmine_fixture",
        "tests.test_web",
        "tests.test_cli",
    }


def test_the_layers_contract_is_kept():
    lint = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run([str(lint), "--no-cache"], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "Layers run one way KEPT" in done.stdout
