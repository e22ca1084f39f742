"""What the Jira Service Management and Freshdesk tests share: an adapter configured from the
platform's contract.json, its documented API answers, strict `responses` expectations (exact
query, auth header and JSON body), and a fake clock for paced bulk work."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import responses
from responses import matchers

from connector.composition import adapters_for
from connector.config.settings import config_from_mapping
from connector.pipeline.metrics import Metrics
from connector.platforms import settings_schemas
from connector.platforms.base import Adapter
from tests.support.contract import contract

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


class Platform:
    """One SaaS platform's test kit: `adapter(**changes)`, `answer(name)`, `expect(...)`."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.spec = contract(name)
        self.base = self.spec["settings"]["base_url"]
        self.headers = self.spec["request_headers"]

    def settings(self, **changes: Any) -> dict[str, Any]:
        """The contract's settings with `changes` (options merged, not replaced; a key or an option
        given as None is left out)."""
        doc = json.loads(json.dumps(self.spec["settings"]))
        options = {**doc.get("options", {}), **changes.pop("options", {})}
        doc.update(changes)
        doc = {k: v for k, v in doc.items() if v is not None}
        doc["options"] = {k: v for k, v in options.items() if v is not None}
        return doc

    def adapter(self, **changes: Any) -> Adapter:
        """An adapter built as the composition root builds it, on a fake clock (waits recorded)."""
        config = config_from_mapping(
            {"platforms": {self.name: self.settings(**changes)}}, self.spec["folder"], "test", settings_schemas()
        )
        found = adapters_for(config, Metrics())[self.name]
        found.waits, now = [], [1000.0]  # type: ignore[attr-defined]

        def sleep(seconds: float) -> None:
            found.waits.append(round(seconds, 3))  # type: ignore[attr-defined]
            now[0] += seconds

        found.sleep, found.clock = sleep, lambda: now[0]  # type: ignore[attr-defined]
        return found

    def answer(self, name: str) -> Any:
        """A documented API answer from tests/fixtures/<platform>/api/."""
        return json.loads((self.spec["folder"] / "api" / f"{name}.json").read_text(encoding="utf-8"))

    def expect(
        self,
        method: str,
        path: str,
        answer: Any = None,
        query: dict | None = None,
        body: Any = None,
        status: int = 200,
        headers: dict | None = None,
    ) -> Any:
        """Register one strict expectation on the active `responses` mock; `answer` is a fixture
        name or the JSON itself (None: an empty body)."""
        match = [matchers.header_matcher(self.headers), matchers.query_param_matcher(query or {})]
        if body is not None:
            match.append(matchers.json_params_matcher(body))
        kwargs: dict[str, Any] = {"status": status, "match": match, "headers": headers or {}}
        if answer is not None:
            kwargs["json"] = self.answer(answer) if isinstance(answer, str) else answer
        return responses.add(method, f"{self.base}{path}", **kwargs)
