"""KB access in the database: the registry read whole for a sync (every contact's desired
access), one customer's for a ticket, and the audit of every grant, revoke and registration."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from typing import Iterable, Iterator, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from connector.core.kb_access import AccessChange, Desired, kb_access
from connector.core.policy import Policy
from connector.core.registry import Customer, CustomerFacts, License, Purchase
from connector.registry.records import to_contract
from connector.storage import tables as t
from connector.storage.moments import utc
from connector.storage.registry import contract_record
from connector.storage.tables import metadata

access_audit = sa.Table(
    "access_audit", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("platform", sa.String(64), nullable=False),
    sa.Column("email", sa.String(320), nullable=False),
    sa.Column("customer_id", sa.String(200)),
    sa.Column("action", sa.String(16), nullable=False),  # grant, revoke, register
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("since", sa.Date),
    sa.Column("until", sa.Date),
    sa.Column("result", sa.String(16), nullable=False),  # done, failed, dry_run
    sa.Column("detail", sa.Text),
    sa.Column("origin", sa.String(32), nullable=False),  # sync, ticket, scheduler
    sa.Column("run_id", sa.String(64)),
    sa.Column("lever", sa.String(16), nullable=False, server_default="kb"),  # kb, or mailing (the mailing tag)
)


def whole_registry(engine: Engine, licenses: bool = False) -> tuple[list[tuple[str, str, str | None]],
                                                                  dict[str, CustomerFacts]]:
    """Every contact (e-mail, customer id, name) and the facts of every customer that has one: a
    few whole-table reads, for rules applied to the whole registry at once (KB access, the
    information mailing). Licenses only when asked for."""
    purchases: dict[str, list[Purchase]] = defaultdict(list)
    contracts: dict[str, list] = defaultdict(list)
    held: dict[str, list[License]] = defaultdict(list)
    with engine.connect() as conn:
        names = dict(conn.execute(sa.select(t.customers.c.id, t.customers.c.name)).all())
        for cid, product, kind, bought in conn.execute(
                sa.select(t.purchases.c.customer_id, t.purchases.c.product_code, t.purchases.c.kind,
                          t.purchases.c.date)):
            purchases[cid].append(Purchase(product, kind, bought))
        for row in conn.execute(sa.select(t.contracts)).mappings():
            contracts[row["customer_id"]].append(to_contract(contract_record(row)))
        if licenses:
            for cid, product, since in conn.execute(sa.select(t.licenses.c.customer_id, t.licenses.c.product_code,
                                                              t.licenses.c.since)):
                held[cid].append(License(product, since))
        contacts = [(e, c, n) for e, c, n in conn.execute(
            sa.select(t.contacts.c.email, t.contacts.c.customer_id, t.contacts.c.name))]
    facts = {cid: CustomerFacts(Customer(cid, names.get(cid, cid)), tuple(held.get(cid, ())),
                                tuple(purchases.get(cid, ())), tuple(contracts.get(cid, ())))
             for cid in {c for _e, c, _n in contacts}}
    return contacts, facts


def desired_access(engine: Engine, day: date, policy: Policy) -> list[Desired]:
    """Every registry contact's desired KB access on `day` (the customer's): the whole registry
    read once, then the core rule once per customer that has contacts."""
    contacts, facts = whole_registry(engine)
    access = {cid: kb_access(f, day, policy) for cid, f in facts.items()}
    return [Desired(email, cid, access[cid]) for email, cid, _name in contacts]


def contact_details(engine: Engine, email: str, customer_id: str, platform: str) -> tuple[str | None, str | None]:
    """The contact's name in the registry and the customer's organisation id on `platform`."""
    with engine.connect() as conn:
        name = conn.execute(sa.select(t.contacts.c.name).where(t.contacts.c.email == email.strip().lower())).scalar()
        org = conn.execute(sa.select(t.customer_platform_ids.c.org_id).where(
            t.customer_platform_ids.c.customer_id == customer_id,
            t.customer_platform_ids.c.platform == platform).limit(1)).scalar()
    return name, org


@dataclass(frozen=True)
class AuditEntry:
    """One recorded grant, revoke or registration."""

    id: int
    at: datetime
    platform: str
    email: str
    customer_id: str | None
    action: str
    reason: str
    since: date | None
    until: date | None
    result: str
    detail: str | None
    origin: str
    run_id: str | None
    lever: str = "kb"

    def as_json(self) -> dict:
        """A JSON-ready dict."""
        return {k: (v.isoformat() if isinstance(v, (date, datetime)) else v) for k, v in self.__dict__.items()}


class AccessAudit:
    """The audit log of KB access and portal registration (append-only)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def record(self, platform: str, entries: Iterable[tuple[AccessChange, str, str]], at: datetime,
               origin: str, run_id: str | None = None, lever: str = "kb") -> int:
        """Append (change, result, detail) entries of `lever` in one transaction; how many were written."""
        at = utc(at)  # stored as UTC: SQLite keeps no offset, so every moment must be in one zone
        rows = [{"at": at, "platform": platform, "email": c.email, "customer_id": c.customer,
                 "action": c.action, "reason": c.reason, "since": c.since, "until": c.until,
                 "result": result, "detail": detail or None, "origin": origin, "run_id": run_id, "lever": lever}
                for c, result, detail in entries]
        if rows:
            with self.engine.begin() as conn:
                conn.execute(access_audit.insert(), rows)
        return len(rows)

    def last_done(self, platform: str, email: str, actions: Sequence[str], lever: str = "kb") -> str | None:
        """The latest of `actions` on `lever` done for `email` on `platform` (what the connector last made true)."""
        a = access_audit.c
        query = (sa.select(a.action).where(a.platform == platform, a.email == email.strip().lower(),
                                           a.result == "done", a.action.in_(list(actions)), a.lever == lever)
                 .order_by(a.id.desc()).limit(1))
        with self.engine.connect() as conn:
            return conn.execute(query).scalar()

    def entries(self, customer: str | None = None, since: datetime | None = None, email: str | None = None,
                platform: str | None = None, limit: int | None = None) -> Iterator[AuditEntry]:
        """Entries, oldest first, filtered by customer, e-mail, platform and time."""
        a = access_audit.c
        query = sa.select(access_audit).order_by(a.id)
        if customer is not None:
            query = query.where(a.customer_id == customer)
        if since is not None:
            query = query.where(a.at >= utc(since))
        if email is not None:
            query = query.where(a.email == email.strip().lower())
        if platform is not None:
            query = query.where(a.platform == platform)
        if limit is not None:
            query = query.order_by(None).order_by(a.id.desc()).limit(limit)
        with self.engine.connect() as conn:
            rows = [AuditEntry(**{**row, "at": utc(row["at"])}) for row in conn.execute(query).mappings()]
        if limit is not None:
            rows.reverse()
        yield from rows
