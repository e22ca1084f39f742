"""The architecture holds: layers run one way (import-linter's contract in pyproject.toml), and the
domain core is pure: it imports only an allow-list (the standard library's plain parts, pytz and
holidays), and never reads files or the wall clock (the clock is passed in)."""
import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORE = ROOT / "connector" / "core"
ALLOWED = {"__future__", "abc", "bisect", "calendar", "collections", "dataclasses", "datetime", "enum",
           "functools", "logging", "math", "re", "threading", "typing", "hashlib", "itertools", "statistics",
           "pytz", "holidays", "connector"}
# calls that read files or the wall clock (the `time` module is not on the allow-list at all)
IMPURE_CALLS = {"open", "now", "utcnow", "today", "monotonic", "perf_counter", "read_text",
                "read_bytes", "write_text", "write_bytes", "getenv", "system", "popen"}


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
    calls = {n.func.attr if isinstance(n.func, ast.Attribute) else getattr(n.func, "id", "") for n in ast.walk(bad)
             if isinstance(n, ast.Call)}
    assert {"now", "open"} <= calls & IMPURE_CALLS


def test_importing_the_core_loads_no_web_http_or_database_package():
    code = ("import sys, pkgutil, importlib, connector.core as c\n"
            "for m in pkgutil.walk_packages(c.__path__, 'connector.core.'): importlib.import_module(m.name)\n"
            "print(' '.join(sorted({n.split('.')[0] for n in sys.modules})))")
    loaded = set(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                                cwd=ROOT).stdout.split())
    assert not loaded & {"flask", "werkzeug", "requests", "sqlalchemy", "alembic", "psycopg", "jsonschema"}


def test_adapters_never_decide_a_dry_run():
    """Dry runs are the services' decision (pipeline, KB sync and keeper, alert job), never an adapter's."""
    for path in sorted((ROOT / "connector" / "platforms").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            assert not (isinstance(node, ast.Attribute) and node.attr == "dry_run"), \
                f"{path.relative_to(ROOT)}:{node.lineno} reads dry_run"


def test_the_layers_contract_is_kept():
    lint = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run([str(lint), "--no-cache"], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "Layers run one way KEPT" in done.stdout
