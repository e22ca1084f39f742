"""Platforms kept in memory, shared by the tests: adapters that never touch a network."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from connector.config.settings import PlatformSettings
from connector.core.errors import BadInput, PlatformError, PlatformRejected
from connector.core.kb_access import GRANT
from connector.platforms.base import AccessOutcome, Adapter, Alert


class OfflineAdapter(Adapter):
    """An adapter with no API and no webhooks: the pieces a fake does not use say so."""

    name, title, docs_url, authentication = "offline", "Offline", "", "none"

    @classmethod
    def client_for(cls, settings):
        raise BadInput(f"{cls.title} has no API client")

    def verify(self, delivery, secret, now):  # pragma: no cover - fakes receive no webhooks
        raise NotImplementedError

    def parse(self, delivery, payload):  # pragma: no cover
        raise NotImplementedError

    def sign(self, body, secret, now, delivery_id):  # pragma: no cover
        raise NotImplementedError

    def sample_body(self, ticket_id, now):  # pragma: no cover
        raise NotImplementedError

    def fetch_ticket(self, ticket_id):  # pragma: no cover
        raise NotImplementedError

    def write_back(self, ticket, plan):  # pragma: no cover
        raise NotImplementedError


class MemoryPlatform(OfflineAdapter):
    """A platform with a KB lever and portal: holders in a set, batches of `batch`, and a failure
    injected after `fail_after` batches (a 503 the bulk endpoint keeps giving)."""

    name, title, docs_url, authentication = "memory", "Memory", "", "none"

    def __init__(
        self, holders: Sequence[str] = (), batch: int = 2, fail_after: int | None = None, name: str = "memory"
    ) -> None:
        super().__init__(PlatformSettings(name))
        self.name = name  # type: ignore[misc]  # a per-instance name: the registry's platform ids are looked up by it
        self.holders = set(holders)
        self.batch, self.fail_after = batch, fail_after
        self.calls: list[tuple[str, str]] = []  # (action, email) as applied
        self.portal: dict[str, str] = {}

    def kb_holders(self) -> set[str]:
        return set(self.holders)

    def apply_access(self, changes) -> Iterator[AccessOutcome]:
        for number, start in enumerate(range(0, len(changes), self.batch)):
            if self.fail_after is not None and number >= self.fail_after:
                raise PlatformError("PUT /users/update_many: HTTP 503: unavailable", 503)
            for change in changes[start : start + self.batch]:
                held = change.email in self.holders
                self.calls.append((change.action, change.email))
                if change.action == GRANT:
                    self.holders.add(change.email)
                else:
                    self.holders.discard(change.email)
                yield AccessOutcome(change, True, "already" if held == (change.action == GRANT) else "")

    def register_portal_user(self, email, name, customer_id, customer_name, org_id):
        if email in self.portal:
            return None
        self.portal[email] = customer_id
        return f"created {email} in {customer_name} ({org_id or 'new organisation'})"


class FakeTickets(OfflineAdapter):
    """Tickets in a dict; write-backs recorded; no alert capability."""

    name, title, docs_url, authentication = "fake", "Fake", "", "none"

    def __init__(self, tickets=(), dry_run: bool = False, name: str = "fake") -> None:
        super().__init__(PlatformSettings(name, dry_run=dry_run))
        self.tickets = {t.id: t for t in tickets}
        self.writes: list[tuple[str, frozenset]] = []
        self.fetches = 0

    def fetch_ticket(self, ticket_id):
        self.fetches += 1
        if ticket_id not in self.tickets:
            raise PlatformRejected(f"GET /tickets/{ticket_id}: HTTP 404: RecordNotFound", 404)
        return self.tickets[ticket_id]

    def write_back(self, ticket, plan):
        self.writes.append((ticket.id, plan.changed))
        return True


class FakePlatform(FakeTickets):
    """... and it takes alerts, failing the first `fail` calls with a 503."""

    def __init__(self, *args, fail: int = 0, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fail, self.attempts = fail, 0
        self.alerts: list[Alert] = []
        self.during_alert = None  # called inside alert(), to race another job against this one

    def alert(self, alert):
        self.attempts += 1
        if self.during_alert:
            self.during_alert()
        if self.fail:
            self.fail -= 1
            raise PlatformError("PUT /tickets/1: HTTP 503: unavailable", 503)
        self.alerts.append(alert)
        return True
