"""The generic platform's own costs, without a network: building and checking a mapping (what
start-up pays), receiving the documented Zammad delivery (HMAC-SHA1 over the raw body, JSON,
schema, pointers), and processing a ticket through the Zammad preset's three reads (answers from
memory) to a plan with nothing to write.

    python benchmarks/generic_platform.py
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from connector.config.rules import rulebook  # noqa: E402
from connector.config.settings import PlatformSettings  # noqa: E402
from connector.pipeline.process import Processor  # noqa: E402
from connector.platforms.client import Response  # noqa: E402
from connector.platforms.generic import GenericAdapter  # noqa: E402
from connector.platforms.generic.mapping import build  # noqa: E402
from connector.platforms.receiving import receive  # noqa: E402
from connector.storage import open_database  # noqa: E402
from connector.storage.registry_import import import_registry  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures" / "generic"
SETTINGS = PlatformSettings(
    "generic",
    base_url="https://zammad.test",
    webhook_secret="zammad-fixture-token-3e7a91c2",
    credentials={"api_token": "t"},
    options={"preset": "zammad"},
)
ANSWERS = {
    "/api/v1/tickets/81?expand=true": "zammad_ticket_81_written.json",
    "/api/v1/users/8": "zammad_user_8.json",
    "/api/v1/ticket_history/81": "zammad_ticket_history_81_written.json",
}


def rate(label: str, count: int, run) -> None:
    """Run `run` `count` times; print per second (and per call)."""
    started = time.perf_counter()
    for _ in range(count):
        run()
    seconds = time.perf_counter() - started
    print(f"{label}: {count / seconds:,.0f}/s ({seconds / count * 1000:.2f} ms each)")


def main() -> None:
    """Print the three figures."""
    rate("mapping built and checked (start-up)", 200, lambda: build(SETTINGS))
    adapter = GenericAdapter(SETTINGS)
    headers = json.loads((FIXTURES / "zammad_ticket_created.headers.json").read_text(encoding="utf-8"))
    body = (FIXTURES / "zammad_ticket_created.json").read_bytes()
    now = datetime.now(UTC)
    rate(
        f"Zammad deliveries received ({len(body)} bytes)",
        3000,
        lambda: receive(adapter, headers, body, None, SETTINGS.webhook_secret, now, 1 << 20),
    )
    answers = {path: (FIXTURES / "api" / name).read_bytes() for path, name in ANSWERS.items()}
    adapter.client = adapter.client_for(SETTINGS)
    # the fixtures' answers instead of the network
    adapter.client._request = (  # type: ignore[method-assign]  # patched on this one instance
        lambda method, url, headers, body: Response(200, {}, answers[url.split(".test", 1)[1]])
    )
    with tempfile.TemporaryDirectory() as folder:
        engine = open_database(f"sqlite:///{folder}/bench.db")
        import_registry(FIXTURES / "registry.json", engine)
        processor = Processor(
            engine, {"generic": adapter}, rulebook(), clock=lambda: datetime(2024, 5, 13, 12, tzinfo=UTC)
        )
        assert processor.process_ticket(adapter, "81")["changed"] == []
        rate(
            "tickets processed (3 reads, entitlement, clocks, nothing to write)",
            300,
            lambda: processor.process_ticket(adapter, "81"),
        )
        engine.dispose()


if __name__ == "__main__":
    main()
