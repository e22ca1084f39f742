"""Who belongs to which customer: the registry's contacts, and the staff seen on tickets
(requesters identified by an e-mail domain or a platform organisation), with what the KB sync
and the per-ticket step need of them."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from connector.core.kb_access import Desired, kb_access
from connector.core.policy import Policy
from connector.core.registry import Contract, Customer, CustomerFacts, License, Purchase
from connector.registry.records import to_contract
from connector.storage import tables as t
from connector.storage.moments import utc
from connector.storage.registry import contract_record
from connector.storage.unit import reading


def record_staff(engine: Engine, email: str, customer_id: str, matched_by: str, platform: str, now: datetime) -> None:
    """Remember a requester identified as the customer's staff (not a contact): its latest
    identification wins."""
    row = {
        "email": email.strip().lower(),
        "customer_id": customer_id,
        "matched_by": matched_by,
        "platform": platform,
        "seen_at": utc(now),
    }
    with engine.begin() as conn:
        done = conn.execute(
            t.customer_staff.update().where(t.customer_staff.c.email == row["email"]).values(**row)
        ).rowcount
        if not done:
            try:
                with conn.begin_nested():
                    conn.execute(t.customer_staff.insert().values(**row))
            except sa.exc.IntegrityError:  # another worker recorded them a moment ago
                conn.execute(t.customer_staff.update().where(t.customer_staff.c.email == row["email"]).values(**row))


def people_and_facts(
    engine: Engine, staff: bool = True, licenses: bool = False
) -> tuple[list[tuple[str, str, str | None]], dict[str, CustomerFacts]]:
    """Everyone known to belong to a customer, as (e-mail, customer id, name): the registry's
    contacts, and unless not `staff` the staff seen on tickets; and the facts of each of their
    customers (licenses only when asked for). Whole-table reads, for rules applied to the whole
    registry at once (KB access, the information mailing)."""
    purchases: dict[str, list[Purchase]] = defaultdict(list)
    contracts: dict[str, list[Contract]] = defaultdict(list)
    held: dict[str, list[License]] = defaultdict(list)
    with engine.connect() as conn:
        names = dict(conn.execute(sa.select(t.customers.c.id, t.customers.c.name)).all())
        for cid, product, kind, bought in conn.execute(
            sa.select(t.purchases.c.customer_id, t.purchases.c.product_code, t.purchases.c.kind, t.purchases.c.date)
        ):
            purchases[cid].append(Purchase(product, kind, bought))
        for row in conn.execute(sa.select(t.contracts)).mappings():
            contracts[row["customer_id"]].append(to_contract(contract_record(row)))
        if licenses:
            for cid, product, since in conn.execute(
                sa.select(t.licenses.c.customer_id, t.licenses.c.product_code, t.licenses.c.since)
            ):
                held[cid].append(License(product, since))
        people = [
            (e, c, n)
            for e, c, n in conn.execute(sa.select(t.contacts.c.email, t.contacts.c.customer_id, t.contacts.c.name))
        ]
        if staff:
            known = {email for email, _c, _n in people}
            people += [
                (email, cid, None)
                for email, cid in conn.execute(sa.select(t.customer_staff.c.email, t.customer_staff.c.customer_id))
                if email not in known
            ]
    facts = {
        cid: CustomerFacts(
            Customer(cid, names.get(cid, cid)),
            tuple(held.get(cid, ())),
            tuple(purchases.get(cid, ())),
            tuple(contracts.get(cid, ())),
        )
        for cid in {c for _e, c, _n in people}
    }
    return people, facts


def desired_access(engine: Engine, day: date, policy: Policy) -> list[Desired]:
    """The desired KB access on `day` of everyone known to belong to a customer: the registry's
    contacts and the staff seen on tickets (the customer's access, by the core's one rule, once
    per customer that has people)."""
    people, facts = people_and_facts(engine)
    access = {cid: kb_access(f, day, policy) for cid, f in facts.items()}
    return [Desired(email, cid, access[cid]) for email, cid, _name in people]


def contact_details(engine: Engine, email: str, customer_id: str, platform: str) -> tuple[str | None, str | None]:
    """The contact's name in the registry and the customer's organisation id on `platform`."""
    with reading(engine) as conn:
        name = conn.execute(sa.select(t.contacts.c.name).where(t.contacts.c.email == email.strip().lower())).scalar()
        org = conn.execute(
            sa.select(t.customer_platform_ids.c.org_id)
            .where(t.customer_platform_ids.c.customer_id == customer_id, t.customer_platform_ids.c.platform == platform)
            .limit(1)
        ).scalar()
    return name, org


def customer_name(engine: Engine, customer_id: str | None) -> str:
    """The customer's name in the registry (its id when it has none)."""
    if not customer_id:
        return ""
    with engine.connect() as conn:
        name = conn.execute(sa.select(t.customers.c.name).where(t.customers.c.id == customer_id)).scalar()
    return name or customer_id
