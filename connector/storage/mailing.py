"""The information mailing list from the registry: every contact of a customer under warranty or
a contract on a day (the rule is connector.core.mailing), read from the whole registry at once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from connector.core.errors import BadInput
from connector.core.kb_access import Desired
from connector.core.mailing import Subscription, information_support, no_subscription
from connector.core.policy import Policy
from connector.storage import tables as t
from connector.storage.people import people_and_facts


@dataclass(frozen=True)
class Subscriber:
    """One contact on the list."""

    email: str
    name: str | None
    customer: str
    subscription: Subscription


def mailing_list(engine: Engine, day: date, policy: Policy, product: str | None = None) -> list[Subscriber]:
    """The contacts on the list on `day` (only those whose covered products include `product`),
    sorted by customer, then e-mail. An unknown product is an error."""
    if product is not None:
        with engine.connect() as conn:
            if conn.execute(sa.select(t.products.c.code).where(t.products.c.code == product)).first() is None:
                raise BadInput(f"unknown product {product!r}: not in the registry")
    contacts, facts = people_and_facts(engine, staff=False, licenses=True)
    subscriptions = {cid: information_support(f, day, policy) for cid, f in facts.items()}
    found = [
        Subscriber(email, name, cid, sub)
        for email, cid, name in contacts
        if (sub := subscriptions[cid]) is not None and (product is None or product in sub.products)
    ]
    return sorted(found, key=lambda s: (s.customer, s.email))


def desired_mailing(engine: Engine, day: date, policy: Policy) -> list[Desired]:
    """Every registry contact's desired mailing tag on `day` (held while on the list), for a sync;
    the staff seen on tickets are not registered contacts: the tag is not theirs."""
    contacts, facts = people_and_facts(engine, staff=False, licenses=True)
    wanted = {}
    for cid, f in facts.items():
        sub = information_support(f, day, policy)
        wanted[cid] = sub.as_access() if sub is not None else no_subscription(f, day)
    return [Desired(email, cid, wanted[cid]) for email, cid, _name in contacts]
