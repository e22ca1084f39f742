"""Freshdesk's closed knowledge base, portal registration and SLA alerts.

The KB lever: solution folders visible to **selected companies** (`visibility: 4`,
`company_ids`), listed in `options.kb_folder_ids`. A contact sees them when its company is in the
list, so access is granted and revoked per company (the registry's access is the customer's, for
all its contacts). Writing `company_ids` replaces the folder's whole list and Freshdesk allows
1 to 250 companies per folder: every batch reads each folder's list afresh, writes the list with
its own changes only, and fails clearly (without writing) rather than go over 250 or leave a
folder empty. `options.kb_keep_company_ids` are never removed (e.g. the vendor's own company,
which also keeps a folder from ever being empty) and their contacts are not counted as holders.
Docs: https://developers.freshdesk.com/api/#solutions (folders: visibility 1 all, 2 logged-in
users, 3 agents, 4 selected companies; `company_ids`), #contacts (`company_id`, filters `email`
and `company_id`), #companies (autocomplete by name, create).

Portal registration: the requester becomes a contact of the customer's company (the registry's
`platform_ids.freshdesk`, else the company of the customer's name, created when missing).
Every request goes through the paced API (429: Retry-After waited out; 5xx retried).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

from connector.core.errors import BadInput, PlatformError, PlatformRejected
from connector.core.kb_access import GRANT, REVOKE, AccessChange
from connector.platforms.base import AccessOutcome, Alert
from connector.platforms.freshdesk.reading import ticket_id
from connector.platforms.freshdesk.writing import alert_body, note_body, priority_code
from connector.platforms.pacing import PacedApi

log = logging.getLogger(__name__)
SELECTED_COMPANIES = 4
COMPANIES_LIMIT = 250  # per folder (Freshdesk's FolderValidation)
BATCH = 50  # changes per round of folder writes
PER_PAGE = 100
MAX_PAGES = 100  # 10,000 contacts per company


class FreshdeskAccess:
    """The folder lever, portal registration and alerts over one paced API."""

    def __init__(self, api: PacedApi, options: Mapping[str, Any]) -> None:
        self.api = api
        self.folders = [int(f) for f in options.get("kb_folder_ids") or []]
        self.keep = {int(c) for c in options.get("kb_keep_company_ids") or []}

    # -- the folders -------------------------------------------------------------------------

    def folder_companies(self) -> dict[int, set[int]]:
        """Each closed folder's companies, as Freshdesk has them now."""
        found = {}
        for folder in self.folders:
            doc = self.api.call("GET", f"/api/v2/solutions/folders/{folder}") or {}
            if doc.get("visibility") != SELECTED_COMPANIES:
                raise BadInput(
                    f"solution folder {folder} is not visible to selected companies (visibility"
                    f" {doc.get('visibility')}): set 'Visible to: Selected companies' in Freshdesk,"
                    " or take it out of options.kb_folder_ids"
                )
            found[folder] = {int(c) for c in doc.get("company_ids") or []}
        return found

    def company_emails(self, company: int) -> set[str]:
        """Lower-case e-mails of a company's contacts."""
        emails: set[str] = set()
        for page in range(1, MAX_PAGES + 1):
            query = urlencode({"company_id": company, "page": page, "per_page": PER_PAGE})
            contacts = self.api.call("GET", f"/api/v2/contacts?{query}") or []
            emails |= {str(c.get("email") or "").strip().lower() for c in contacts if c.get("email")}
            if len(contacts) < PER_PAGE:
                return emails
        log.warning("freshdesk: company %s has over %d contacts; read the first", company, PER_PAGE * MAX_PAGES)
        return emails

    def holders(self) -> set[str]:
        """E-mails of the contacts of every company some closed folder lists."""
        companies = set().union(*self.folder_companies().values()) - self.keep if self.folders else set()
        return set().union(*(self.company_emails(c) for c in sorted(companies)))

    def contact(self, email: str) -> Mapping[str, Any] | None:
        """The contact with this e-mail, if there is one."""
        found = self.api.call("GET", f"/api/v2/contacts?{urlencode({'email': email})}") or []
        return next((c for c in found if str(c.get("email") or "").strip().lower() == email), None)

    def apply(self, changes: Sequence[AccessChange]) -> Iterator[AccessOutcome]:
        """Grants and revokes in batches: contacts looked up, then one write per folder whose
        company list changes; one outcome per change, yielded as each batch is written."""
        revoking = {c.email.strip().lower() for c in changes if c.action == REVOKE}
        for start in range(0, len(changes), BATCH):
            yield from self._batch(changes[start : start + BATCH], revoking)

    def _batch(self, changes: Sequence[AccessChange], revoking: set[str]) -> list[AccessOutcome]:
        """One batch: the folders' lists now, each contact's company, what to add and remove."""
        lists = self.folder_companies()
        listed = set().union(*lists.values())
        outcomes: dict[int, AccessOutcome] = {}
        add: dict[int, list[int]] = {}  # company -> indexes of the changes that need it
        remove: dict[int, list[int]] = {}
        for i, change in enumerate(changes):
            if change.action not in (GRANT, REVOKE):
                outcomes[i] = AccessOutcome(change, False, f"{change.action} is not a KB change")
                continue
            try:
                contact = self.contact(change.email.strip().lower())
            except PlatformRejected as exc:
                outcomes[i] = AccessOutcome(change, False, str(exc))
                continue
            company = int((contact or {}).get("company_id") or 0)
            if change.action == GRANT:
                if not company:
                    outcomes[i] = AccessOutcome(
                        change,
                        False,
                        ("not a Freshdesk contact yet" if contact is None else "the contact has no company")
                        + ": the closed folders open per company; portal registration puts the contact in its"
                        " customer's company (access.register_portal_users), the next sync grants",
                    )
                elif all(company in companies for companies in lists.values()):
                    outcomes[i] = AccessOutcome(change, True, "already")
                else:
                    add.setdefault(company, []).append(i)
            elif not company or company not in listed:
                outcomes[i] = AccessOutcome(change, True, "already")
            elif company in self.keep:
                outcomes[i] = AccessOutcome(
                    change, False, f"not revoked: company {company} is in options.kb_keep_company_ids"
                )
            elif change.customer is None and not self.company_emails(company) <= revoking:
                outcomes[i] = AccessOutcome(
                    change,
                    False,
                    f"not revoked: company {company} keeps the closed"
                    " folders for its other contacts (Freshdesk opens them per company);"
                    " take this contact out of the company or add it to the registry",
                )
            else:
                remove.setdefault(company, []).append(i)
        for company in set(remove) & set(add):  # a company the batch both grants and revokes keeps access
            for i in remove.pop(company):
                outcomes[i] = AccessOutcome(
                    changes[i], False, f"not revoked: company {company} is granted to another contact in the same run"
                )
        self._write(lists, changes, add, remove, outcomes)
        return [outcomes[i] for i in range(len(changes))]

    def _write(
        self,
        lists: dict[int, set[int]],
        changes: Sequence[AccessChange],
        add: dict[int, list[int]],
        remove: dict[int, list[int]],
        outcomes: dict[int, AccessOutcome],
    ) -> None:
        """Give every closed folder the same new list (all of them are the closed KB); when that
        list would break Freshdesk's limits nothing is written and the batch's changes fail saying why."""
        new = (set().union(*lists.values()) | set(add)) - set(remove)
        problem = None
        if len(new) > COMPANIES_LIMIT:
            problem = (
                f"the closed folders would list {len(new)} companies; Freshdesk allows {COMPANIES_LIMIT} per"
                " folder (split the closed articles over folders of their own, or use company segments)"
            )
        elif not new and lists:
            problem = (
                "the closed folders would list no company; Freshdesk needs at least one (add your own"
                " company to them and to options.kb_keep_company_ids)"
            )
        if problem is None:
            for folder, current in lists.items():
                if current != new:
                    self.api.call(
                        "PUT",
                        f"/api/v2/solutions/folders/{folder}",
                        {"visibility": SELECTED_COMPANIES, "company_ids": sorted(new)},
                    )
        for verb, wanted in (
            ("granted (company {} is in the closed folders)", add),
            ("revoked (company {} left the closed folders)", remove),
        ):
            for company, indexes in wanted.items():
                for i in indexes:
                    outcomes[i] = AccessOutcome(changes[i], problem is None, problem or verb.format(company))

    # -- portal registration -----------------------------------------------------------------

    def register(self, email: str, name: str | None, customer_name: str, org_id: str | None) -> str | None:
        """Make `email` a contact of the customer's company (None: it is one already)."""
        email = email.strip().lower()
        if "@" not in email:
            raise BadInput(f"not an e-mail address: {email!r}")
        done: list[str] = []
        company = int(org_id) if org_id and str(org_id).isdigit() else self._company(customer_name, done)
        contact = self.contact(email)
        if contact is None:
            created = (
                self.api.call(
                    "POST",
                    "/api/v2/contacts",
                    {"name": (name or "").strip() or email.split("@")[0], "email": email, "company_id": company},
                    expect=(200, 201),
                )
                or {}
            )
            done.append(f"created contact {created.get('id')} for {email} in company {company}")
        elif not contact.get("company_id"):
            self.api.call("PUT", f"/api/v2/contacts/{int(contact['id'])}", {"company_id": company})
            done.append(f"put contact {contact['id']} ({email}) in company {company}")
        elif int(contact["company_id"]) != company and company not in {
            int(o.get("company_id") or 0) for o in contact.get("other_companies") or []
        }:
            done.append(f"{email} is a contact of company {contact['company_id']}, not {company}: left as it is")
        return "; ".join(done) or None

    def _company(self, customer_name: str, done: list[str]) -> int:
        """The company of the customer's name (case-insensitive), created when there is none."""
        found = self.api.call("GET", f"/api/v2/companies/autocomplete?{urlencode({'name': customer_name})}") or {}
        for company in found.get("companies") or []:
            if str(company.get("name") or "").strip().lower() == customer_name.strip().lower():
                return int(company["id"])
        created = self.api.call("POST", "/api/v2/companies", {"name": customer_name}, expect=(200, 201)) or {}
        if not isinstance(created.get("id"), int):
            raise PlatformError("POST /api/v2/companies: no company id in the answer")
        done.append(f"created company {created['id']} ({customer_name})")
        return created["id"]

    # -- SLA alerts --------------------------------------------------------------------------

    def alert(self, alert: Alert) -> bool:
        """The alert's tags added to the ticket's (its list is read first: `tags` replaces it),
        the priority, then a private note."""
        number = ticket_id(alert.ticket_id)
        priority_code(alert.priority)  # a priority Freshdesk has no code for fails before any call
        body = None
        if alert.tags or alert.priority:
            current = self.api.call("GET", f"/api/v2/tickets/{number}") or {}
            body = alert_body(current, alert.tags, alert.priority)
            if body:
                self.api.call("PUT", f"/api/v2/tickets/{number}", body)
        if alert.note:
            self.api.call("POST", f"/api/v2/tickets/{number}/notes", note_body(alert.note), expect=(200, 201))
        return bool(body or alert.note)
