"""The closed knowledge base, portal users and SLA alerts against a REAL django-helpdesk 2.6
(tests/helpdesk_fixture.py) with the connector_access app installed as the README says.

What a customer sees is checked as the customer: a password is set for the account (as its owner
would with a password reset), then a browser-like session logs in through the helpdesk's own login
page and reads its own KB pages (/kb/, /kb/<slug>/) and staff pages. Every e-mail is unique to its
test, so the tests share the one site without depending on each other's order.
"""

from __future__ import annotations

import json
import uuid
from datetime import date, timedelta

import pytest
import requests

from connector.cli import cli
from connector.config.settings import PlatformSettings
from connector.core.errors import BadInput, PlatformRejected
from connector.core.kb_access import GRANT, REVOKE, AccessChange
from connector.jobs.sla_alerts import AlertJob
from connector.platforms.base import Alert
from connector.platforms.django_helpdesk import DjangoHelpdeskAdapter
from connector.platforms.django_helpdesk.access import priority_value
from connector.storage import open_database
from connector.storage.registry_import import import_registry

CLOSED_TITLE, CLOSED_ITEM = "Closed knowledge base", "Licence server failover"  # examples/helpdesk_site/bootstrap.py
PUBLIC_TITLE, PUBLIC_ITEM = "Public knowledge base", "Installing KOMPAS-3D"
PASSWORD = "customer-test-password-1"


def make_adapter(site, **options) -> DjangoHelpdeskAdapter:
    options.setdefault("kb_group", "closed-kb-readers")
    settings = PlatformSettings(
        "django-helpdesk", site.base_url, "x" * 20, credentials={"token": site.token}, options=options
    )
    return DjangoHelpdeskAdapter(settings, DjangoHelpdeskAdapter.client_for(settings))


@pytest.fixture
def adapter(helpdesk_site) -> DjangoHelpdeskAdapter:
    return make_adapter(helpdesk_site)


def unique(name: str = "anna") -> str:
    return f"{name}.{uuid.uuid4().hex[:8]}@customer.example"


def grant(adapter, email: str) -> str:
    (outcome,) = adapter.apply_access([AccessChange(email, GRANT, "warranty of KOMPAS runs")])
    assert outcome.ok, outcome.detail
    return outcome.detail


def revoke(adapter, email: str) -> str:
    (outcome,) = adapter.apply_access([AccessChange(email, REVOKE, "the warranty has ended")])
    assert outcome.ok, outcome.detail
    return outcome.detail


def sees_closed_kb(site, browser: requests.Session) -> bool:
    """Whether the helpdesk's own KB pages show the closed category to this session; the index and
    the category page must agree, and the public category is always there."""
    index = browser.get(f"{site.base_url}/kb/", timeout=15)
    assert index.status_code == 200 and PUBLIC_TITLE in index.text
    public = browser.get(f"{site.base_url}/kb/public-kb/", timeout=15)
    assert public.status_code == 200 and PUBLIC_ITEM in public.text
    page = browser.get(f"{site.base_url}/kb/closed-kb/", timeout=15)
    assert page.status_code in (200, 404), page.status_code
    listed, opened = CLOSED_TITLE in index.text, page.status_code == 200 and CLOSED_ITEM in page.text
    assert listed == opened, (listed, opened)
    return listed


def customer_session(site, adapter, email: str) -> requests.Session:
    """A portal account for `email` with a password, logged in through /login/."""
    adapter.register_portal_user(email, "Anna Petrova", "C-1", "Ivanov Design", None)
    site.set_password(email, PASSWORD)
    return site.login(email, PASSWORD)


def test_the_closed_category_follows_grant_and_revoke(helpdesk_site, adapter):
    email = unique()
    browser = customer_session(helpdesk_site, adapter, email)
    anonymous = requests.Session()
    assert not sees_closed_kb(helpdesk_site, browser)  # a portal user, not yet entitled
    assert not sees_closed_kb(helpdesk_site, anonymous)

    assert grant(adapter, email) == "granted"
    assert sees_closed_kb(helpdesk_site, browser)  # the same session: permissions are read per request
    assert email in adapter.kb_holders()
    assert grant(adapter, email) == "already"  # a second grant changes nothing
    assert sees_closed_kb(helpdesk_site, browser)
    assert not sees_closed_kb(helpdesk_site, anonymous)

    assert revoke(adapter, email) == "revoked"
    assert not sees_closed_kb(helpdesk_site, browser)
    assert email not in adapter.kb_holders()
    assert revoke(adapter, email) == "already"
    # the account stays (revoking never deletes a user): registration finds it
    assert adapter.register_portal_user(email, None, "C-1", "Ivanov Design", None) is None
    assert helpdesk_site.login(email, PASSWORD)


def test_a_grant_creates_the_account_of_an_unknown_email(helpdesk_site, adapter):
    email = unique("petr")
    assert grant(adapter, email.upper()) == "granted; account created"
    assert email in adapter.kb_holders()  # e-mails compare and list lower-case
    helpdesk_site.set_password(email, PASSWORD)
    browser = helpdesk_site.login(email, PASSWORD)  # user name = e-mail
    assert sees_closed_kb(helpdesk_site, browser)
    assert adapter.register_portal_user(email, "Petr", "C-1", "Ivanov Design", None) is None
    assert revoke(adapter, email) == "revoked"


def test_a_granted_customer_sees_no_other_tickets_and_no_staff_pages(helpdesk_site, adapter):
    email = unique()
    browser = customer_session(helpdesk_site, adapter, email)
    grant(adapter, email)
    assert sees_closed_kb(helpdesk_site, browser)
    other = helpdesk_site.create_ticket(unique("boris"), title="Boris's secret licence problem")
    # Even a ticket put in the closed queue by mistake stays out of a customer's reach: its
    # permission opens the staff views only to staff.
    stray = helpdesk_site.create_ticket(
        unique("boris"), title="Stray ticket in the closed queue", queue=helpdesk_site.closed_queue_id
    )
    own = helpdesk_site.create_ticket(email, title="Anna's own question")
    try:
        base = helpdesk_site.base_url
        for path in (
            f"/tickets/{other['id']}/",
            f"/tickets/{stray['id']}/",
            "/tickets/",
            "/dashboard/",
            f"/tickets/{stray['id']}/edit/",
            "/rss/queue/closed-kb/",
            "/rss/unassigned/",
            "/reports/",
            "/kanban/",
        ):
            r = browser.get(f"{base}{path}", allow_redirects=False, timeout=15)
            assert r.status_code in (302, 403, 404), (path, r.status_code)
            if r.status_code == 302:  # sent to log in as staff, not to a page of tickets
                assert r.headers["Location"].startswith("/login/"), (path, r.headers["Location"])
            assert "secret licence" not in r.text and "Stray ticket" not in r.text, path
        for path in (
            f"/api/tickets/{other['id']}/",
            f"/api/tickets/{stray['id']}/",
            "/api/tickets/",
            "/api/followups/",
        ):
            r = browser.get(f"{base}{path}", timeout=15)
            assert r.status_code == 403, (path, r.status_code)
        mine = browser.get(f"{base}/api/user_tickets/", timeout=15).json()
        assert [t["id"] for t in mine["results"]] == [own["id"]]
        # nor may the customer call the connector's endpoints (staff who manage users only)
        r = browser.get(f"{base}/connector/kb/holders/", timeout=15)
        assert r.status_code == 403
        r = requests.get(f"{base}/connector/kb/holders/", auth=(email, PASSWORD), timeout=15)
        assert r.status_code == 403
    finally:
        helpdesk_site.api("DELETE", f"/api/tickets/{stray['id']}/", expect=204)
        revoke(adapter, email)


def test_the_closed_categorys_ticket_link_cannot_fill_the_closed_queue(helpdesk_site, adapter):
    """The category page links to the public form with its queue preset (helpdesk's
    kb_category_base.html); the queue takes no public submissions, so the form refuses it."""
    email = unique()
    browser = customer_session(helpdesk_site, adapter, email)
    grant(adapter, email)
    try:
        page = browser.get(f"{helpdesk_site.base_url}/kb/closed-kb/", timeout=15).text
        assert f"queue={helpdesk_site.closed_queue_id}&_readonly_fields_=queue" in page
        closed = helpdesk_site.closed_queue_id
        submit = f"{helpdesk_site.base_url}/tickets/submit/?queue={closed}&_readonly_fields_=queue"
        form = browser.get(submit, timeout=15)
        assert form.status_code == 200
        data = {
            "csrfmiddlewaretoken": browser.cookies["csrftoken"],
            "queue": str(helpdesk_site.closed_queue_id),
            "title": "Posted into the closed queue",
            "body": "x",
            "submitter_email": email,
            "priority": "3",
        }
        answer = browser.post(submit, data=data, headers={"Referer": submit}, timeout=15, allow_redirects=False)
        assert answer.status_code == 200 and "Select a valid choice" in answer.text  # the form, with the error
        data["queue"] = str(helpdesk_site.queue_id)  # a public queue: the same session may post
        plain = f"{helpdesk_site.base_url}/tickets/submit/"
        answer = browser.post(plain, data=data, timeout=15, allow_redirects=False)
        assert answer.status_code == 302, answer.text[-2000:]
        tickets = helpdesk_site.api("GET", "/api/tickets/?page_size=1000")
        tickets = tickets["results"] if isinstance(tickets, dict) else tickets
        posted = [t["queue"] for t in tickets if t["title"] == "Posted into the closed queue"]
        assert posted == [helpdesk_site.queue_id]
    finally:
        revoke(adapter, email)


def test_register_portal_user_creates_once_then_returns_none(helpdesk_site, adapter):
    email = unique("olga")
    done = adapter.register_portal_user(email, "Olga Smirnova", "C-1", "Ivanov Design", None)
    assert done and done.startswith(f"created portal user {email}")
    assert "no organisations" in done and "Ivanov Design" in done
    assert adapter.register_portal_user(email.upper(), "Olga Smirnova", "C-1", "Ivanov Design", None) is None
    assert email not in adapter.kb_holders()  # registering grants no KB access
    helpdesk_site.set_password(email, PASSWORD)
    browser = helpdesk_site.login(email, PASSWORD)
    assert not sees_closed_kb(helpdesk_site, browser)
    assert browser.get(f"{helpdesk_site.base_url}/dashboard/", allow_redirects=False, timeout=15).status_code == 302


def test_batches_keep_order_and_report_each_email(helpdesk_site):
    adapter = make_adapter(helpdesk_site, kb_batch=2)
    calls: list[str] = []
    real = adapter.client._request
    adapter.client._request = lambda m, u, h, b: (calls.append(m), real(m, u, h, b))[1]  # type: ignore
    a, b, c = unique("a"), unique("b"), unique("c")
    changes = [
        AccessChange(a, GRANT, "w"),
        AccessChange("not an e-mail", GRANT, "w"),
        AccessChange(b, REVOKE, "ended"),
        AccessChange(c, GRANT, "w"),
        AccessChange(a, GRANT, "w"),
    ]
    outcomes = list(adapter.apply_access(changes))
    assert calls == ["POST", "POST", "POST"]
    assert [o.change for o in outcomes] == changes
    assert [(o.ok, o.detail) for o in outcomes] == [
        (True, "granted; account created"),
        (False, "not a valid e-mail address"),
        (True, "already"),
        (True, "granted; account created"),
        (True, "already"),
    ]
    assert {a, c} <= adapter.kb_holders()
    list(adapter.apply_access([AccessChange(a, REVOKE, "x"), AccessChange(c, REVOKE, "x")]))
    assert not {a, c} & adapter.kb_holders()


def test_the_endpoints_refuse_bad_input_and_outsiders(helpdesk_site):
    url = f"{helpdesk_site.base_url}/connector/kb/access/"
    staff = helpdesk_site.session
    assert requests.get(f"{helpdesk_site.base_url}/connector/kb/holders/", timeout=15).status_code in (401, 403)
    for body, field in [
        ({"changes": []}, "changes"),
        ({"changes": "x"}, "changes"),
        ({"changes": [{"email": "a@b.example", "action": "delete"}]}, "changes[0].action"),
        ({"changes": [{"email": 7, "action": "grant"}]}, "changes[0].email"),
        ({"changes": [{"email": f"u{i}@b.example", "action": "grant"} for i in range(101)]}, "changes"),
        ({"group": "admins", "changes": [{"email": "a@b.example", "action": "grant"}]}, "group"),
    ]:
        r = staff.post(url, json=body, timeout=15)
        assert r.status_code == 400 and r.json()["field"] == field, (body, r.text)
    r = staff.post(url, data=b"{not json", headers={"Content-Type": "application/json"}, timeout=15)
    assert r.status_code == 400 and r.headers["content-type"].startswith("application/json")
    r = staff.get(f"{helpdesk_site.base_url}/connector/kb/holders/?group=admins", timeout=15)
    assert r.status_code == 400 and "may manage" in r.json()["error"]
    r = staff.post(f"{helpdesk_site.base_url}/connector/portal-users/", json={"email": "nope"}, timeout=15)
    assert r.status_code == 400 and r.json()["field"] == "email"


def test_a_group_that_carries_other_permissions_is_refused(helpdesk_site, adapter):
    code = (
        "from django.contrib.auth.models import Group, Permission; "
        "g = Group.objects.get(name='closed-kb-readers'); "
        "p = Permission.objects.get(codename='delete_user'); g.permissions.{}(p)"
    )
    helpdesk_site.manage("shell", "-c", code.format("add"))
    try:
        with pytest.raises(PlatformRejected, match="other than helpdesk queue access"):
            adapter.kb_holders()
        with pytest.raises(PlatformRejected, match="HTTP 422"):
            list(adapter.apply_access([AccessChange(unique(), GRANT, "w")]))
    finally:
        helpdesk_site.manage("shell", "-c", code.format("remove"))
    assert isinstance(adapter.kb_holders(), set)


def test_the_setup_command_is_idempotent(helpdesk_site):
    out = helpdesk_site.manage(
        "connector_access_setup", "--group", "closed-kb-readers", "--queue", "closed-kb", "--category", "closed-kb"
    )
    assert "queue 'closed-kb': already there" in out
    assert "group 'closed-kb-readers': already there" in out
    assert "KB category 'closed-kb': already there" in out
    assert "created" not in out and "given" not in out and out.strip().endswith("queue 'closed-kb'")


def test_per_queue_mode_takes_full_access_from_staff_until_they_hold_the_queues(helpdesk_site):
    """The side effect of HELPDESK_ENABLE_PER_QUEUE_STAFF_PERMISSION the README warns about: staff
    who are not superusers see only the queues (and closed KB) whose permission they hold;
    `connector_access_setup --staff-group` gives a group every queue's permission."""
    agent = unique("agent").replace("customer.example", "vendor.example")
    code = (
        "import os; from django.contrib.auth import get_user_model as m; "
        "m().objects.create_user(os.environ['A'], os.environ['A'], os.environ['P'], is_staff=True)"
    )
    helpdesk_site.manage("shell", "-c", code, extra_env={"A": agent, "P": PASSWORD})
    ticket = helpdesk_site.create_ticket(unique(), title="Needs an agent")
    browser = helpdesk_site.login(agent, PASSWORD)
    view = f"{helpdesk_site.base_url}/tickets/{ticket['id']}/"
    refused = browser.get(view, allow_redirects=False, timeout=15)  # back to the list, with a message
    assert refused.status_code == 302 and refused.headers["Location"] == "/tickets/"
    assert not sees_closed_kb(helpdesk_site, browser)

    out = helpdesk_site.manage("connector_access_setup", "--staff-group", "helpdesk-staff")
    assert "group 'helpdesk-staff': holds every queue's permission" in out
    helpdesk_site.manage(
        "shell",
        "-c",
        "import os; from django.contrib.auth import get_user_model as m; "
        "from django.contrib.auth.models import Group; "
        "m().objects.get(username=os.environ['A'])"
        ".groups.add(Group.objects.get(name='helpdesk-staff'))",
        extra_env={"A": agent},
    )
    r = browser.get(view, allow_redirects=False, timeout=15)
    assert r.status_code == 200 and "Needs an agent" in r.text
    assert sees_closed_kb(helpdesk_site, browser)


def test_alert_writes_a_private_note_and_sets_the_priority(helpdesk_site, adapter):
    ticket = helpdesk_site.create_ticket(unique(), title="Licence server down")
    alert = Alert(
        str(ticket["id"]), ("sla_first_response_75",), "75% of the first response time is used {{ x }}", "high"
    )
    assert adapter.alert(alert) is True
    doc = helpdesk_site.api("GET", f"/api/tickets/{ticket['id']}/")
    assert doc["priority"] == 2 and doc["title"] == "Licence server down"
    (note,) = [f for f in doc["followup_set"] if "75%" in (f["comment"] or "")]
    assert note["public"] is False
    assert "Tags: sla_first_response_75" in note["comment"] and "{{" not in note["comment"]
    assert adapter.alert(Alert(str(ticket["id"]), priority="1")) is True
    assert helpdesk_site.api("GET", f"/api/tickets/{ticket['id']}/")["priority"] == 1
    assert adapter.alert(Alert(str(ticket["id"]))) is False  # nothing to write
    with pytest.raises(BadInput):
        adapter.alert(Alert(str(ticket["id"]), note="x", priority="blocker"))
    after = helpdesk_site.api("GET", f"/api/tickets/{ticket['id']}/")
    assert len(after["followup_set"]) == len(doc["followup_set"])  # a bad priority writes nothing


def test_alert_in_dry_run_writes_nothing(helpdesk_site):
    settings = PlatformSettings(
        "django-helpdesk", helpdesk_site.base_url, "x" * 20, credentials={"token": helpdesk_site.token}, dry_run=True
    )
    adapter = DjangoHelpdeskAdapter(settings, DjangoHelpdeskAdapter.client_for(settings))
    ticket = helpdesk_site.create_ticket(unique())
    # the alert job decides the dry run (adapters never do): nothing reaches the helpdesk
    assert AlertJob._send(adapter, Alert(str(ticket["id"]), note="x", priority="critical")) == ("dry_run", None)
    assert helpdesk_site.api("GET", f"/api/tickets/{ticket['id']}/")["priority"] == 3


def test_kb_and_portal_are_offered_only_once_kb_group_names_the_group(helpdesk_site):
    plain = DjangoHelpdeskAdapter(PlatformSettings("django-helpdesk", helpdesk_site.base_url))
    assert plain.supports == {"alert"}  # a helpdesk without connector_access keeps working
    assert make_adapter(helpdesk_site).supports == {"alert", "kb", "portal"}


def test_a_helpdesk_without_the_app_is_a_clear_error(helpdesk_site):
    adapter = make_adapter(helpdesk_site, access_path="/not-installed")
    with pytest.raises(PlatformRejected, match="connector_access app is not installed"):
        adapter.kb_holders()


@pytest.mark.parametrize(
    "given, value",
    [("critical", 1), ("High", 2), ("normal", 3), ("low", 4), ("very low", 5), ("very_low", 5), ("4", 4)],
)
def test_priority_names_and_digits(given, value):
    assert priority_value(given) == value


@pytest.mark.parametrize("given", ["0", "6", "blocker", ""])
def test_unknown_priorities_are_refused(given):
    with pytest.raises(BadInput):
        priority_value(given)


def test_kb_sync_from_the_cli_twice(helpdesk_site, adapter, runner, tmp_path):
    """`connector kb sync` against the real helpdesk: warranty contacts granted, a holder whose
    customer is on basic revoked, and a second run changes nothing."""
    today = date.today()
    domain = f"d{uuid.uuid4().hex[:6]}.example"
    warranty, basic = f"ann@w{domain}", f"bob@b{domain}"
    registry = {
        "products": [{"code": "KOMPAS", "name": "KOMPAS-3D"}],
        "customers": [
            {"id": "C-W", "name": "Warranty Ltd", "email_domains": [f"w{domain}"]},
            {"id": "C-B", "name": "Basic Ltd", "email_domains": [f"b{domain}"]},
        ],
        "contacts": [{"email": warranty, "customer": "C-W"}, {"email": basic, "customer": "C-B"}],
        "licenses": [
            {"customer": "C-W", "product": "KOMPAS", "since": "2020-01-01"},
            {"customer": "C-B", "product": "KOMPAS", "since": "2020-01-01"},
        ],
        "purchases": [
            {
                "customer": "C-W",
                "product": "KOMPAS",
                "kind": "update_package",
                "date": (today - timedelta(days=100)).isoformat(),
            },
            {
                "customer": "C-B",
                "product": "KOMPAS",
                "kind": "update_package",
                "date": (today - timedelta(days=800)).isoformat(),
            },
        ],
        "contracts": [],
    }
    (tmp_path / "registry.json").write_text(json.dumps(registry))
    url = f"sqlite:///{tmp_path / 'connector.db'}"
    engine = open_database(url)
    import_registry(tmp_path / "registry.json", engine)
    engine.dispose()
    config = tmp_path / "connector.toml"
    config.write_text(
        f'database_url = "{url}"\n[platforms.django-helpdesk]\nbase_url = "{helpdesk_site.base_url}"\n'
        f'webhook_secret = "{"s" * 20}"\n[platforms.django-helpdesk.credentials]\n'
        f'token = "{helpdesk_site.token}"\n[platforms.django-helpdesk.options]\n'
        'kb_group = "closed-kb-readers"\n'
    )
    grant(adapter, basic)  # held, but no longer entitled

    dry = runner.invoke(cli, ["kb", "sync", "--config", str(config), "--dry-run", "--quiet"])
    assert dry.exit_code == 0, dry.output
    assert f"grant    {warranty} (C-W)" in dry.stdout and f"revoke   {basic} (C-B)" in dry.stdout
    assert warranty not in adapter.kb_holders()  # a dry run changes nothing

    done = runner.invoke(cli, ["kb", "sync", "--config", str(config), "--json", "--quiet"])
    assert done.exit_code == 0, done.output
    holders = adapter.kb_holders()
    assert warranty in holders and basic not in holders
    again = runner.invoke(cli, ["kb", "sync", "--config", str(config), "--json", "--quiet"])
    assert again.exit_code == 0, again.output
    second = json.loads(again.stdout.splitlines()[0])
    assert (second["grants"], second["revokes"], second["failed"]) == (0, 0, []), again.stdout
    assert adapter.kb_holders() == holders
    audit = runner.invoke(cli, ["kb", "audit", "--config", str(config), "--customer", "C-W"])
    assert f"grant    done    {warranty} (C-W)" in audit.stdout
