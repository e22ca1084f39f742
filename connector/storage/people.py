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
from connector.core.registry import Customer, CustomerFacts, Purchase
from connector.registry.records import to_contract
from connector.storage import tables as t
from connector.storage.moments import utc
from connector.storage.registry import contract_record


def record_staff(engine: Engine, email: str, customer_id: str, matched_by: str, platform: str,
                 now: datetime) -> None:
    """Remember a requester identified as the customer's staff (not a contact): its latest
    identification wins."""
    row = {"email": email.strip().lower(), "customer_id": customer_id, "matched_by": matched_by,
           "platform": platform, "seen_at": utc(now)}
    with engine.begin() as conn:
        done = conn.execute(t.customer_staff.update().where(t.customer_staff.c.email == row["email"])
                            .values(**row)).rowcount
        if not done:
            try:
                with conn.begin_nested():
                    conn.execute(t.customer_staff.insert().values(**row))
            except sa.exc.IntegrityError:  # another worker recorded them a moment ago
                conn.execute(t.customer_staff.update().where(t.customer_staff.c.email == row["email"]).values(**row))


def desired_access(engine: Engine, day: date, policy: Policy) -> list[Desired]:
    """The desired KB access on `day` of everyone known to belong to a customer: the registry's
    contacts and the staff seen on tickets (the customer's access, by the core's one rule).
    Five whole-table reads, then the rule once per customer that has people."""
    purchases: dict[str, list[Purchase]] = defaultdict(list)
    contracts: dict[str, list] = defaultdict(list)
    with engine.connect() as conn:
        names = dict(conn.execute(sa.select(t.customers.c.id, t.customers.c.name)).all())
        for cid, product, kind, bought in conn.execute(
                sa.select(t.purchases.c.customer_id, t.purchases.c.product_code, t.purchases.c.kind,
                          t.purchases.c.date)):
            purchases[cid].append(Purchase(product, kind, bought))
        for row in conn.execute(sa.select(t.contracts)).mappings():
            contracts[row["customer_id"]].append(to_contract(contract_record(row)))
        contacts = conn.execute(sa.select(t.contacts.c.email, t.contacts.c.customer_id)).all()
        known = {email for email, _ in contacts}
        contacts += [(email, cid) for email, cid in conn.execute(
            sa.select(t.customer_staff.c.email, t.customer_staff.c.customer_id)) if email not in known]
    access = {}
    desired = []
    for email, cid in contacts:
        if cid not in access:
            facts = CustomerFacts(Customer(cid, names.get(cid, cid)), (), tuple(purchases.get(cid, ())),
                                  tuple(contracts.get(cid, ())))
            access[cid] = kb_access(facts, day, policy)
        desired.append(Desired(email, cid, access[cid]))
    return desired


def contact_details(engine: Engine, email: str, customer_id: str, platform: str) -> tuple[str | None, str | None]:
    """The contact's name in the registry and the customer's organisation id on `platform`."""
    with engine.connect() as conn:
        name = conn.execute(sa.select(t.contacts.c.name).where(t.contacts.c.email == email.strip().lower())).scalar()
        org = conn.execute(sa.select(t.customer_platform_ids.c.org_id).where(
            t.customer_platform_ids.c.customer_id == customer_id,
            t.customer_platform_ids.c.platform == platform).limit(1)).scalar()
    return name, org


def customer_name(engine: Engine, customer_id: str | None) -> str:
    """The customer's name in the registry (its id when it has none)."""
    if not customer_id:
        return ""
    with engine.connect() as conn:
        name = conn.execute(sa.select(t.customers.c.name).where(t.customers.c.id == customer_id)).scalar()
    return name or customer_id
