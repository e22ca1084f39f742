"""The domain core stays pure: no web framework, HTTP client or database in connector.core."""
import ast
import subprocess
import sys
from pathlib import Path

FORBIDDEN = {"flask", "werkzeug", "requests", "sqlalchemy", "alembic", "psycopg", "psycopg2", "sqlite3",
             "redis", "urllib3", "http", "socket"}
CORE = Path(__file__).resolve().parents[1] / "connector" / "core"


def test_core_modules_import_nothing_impure():
    for path in CORE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for name in names:
                assert name.split(".")[0] not in FORBIDDEN, f"{path.name} imports {name}"


def test_importing_the_core_loads_nothing_impure():
    code = ("import sys, pkgutil, importlib, connector.core as c\n"
            "for m in pkgutil.walk_packages(c.__path__, 'connector.core.'): importlib.import_module(m.name)\n"
            "print(' '.join(sorted({n.split('.')[0] for n in sys.modules})))")
    loaded = set(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split())
    assert not loaded & (FORBIDDEN - {"socket", "http"}), loaded & FORBIDDEN
