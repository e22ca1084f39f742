"""Where the suite's shared fixture files are."""

from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
REGISTRY_JSON = FIXTURES / "registry" / "registry.json"
REGISTRY_CSV = FIXTURES / "registry" / "csv"
