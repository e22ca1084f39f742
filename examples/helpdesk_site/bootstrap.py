"""Prepare the site: migrate, an API user with a token, a queue, the connector's custom fields,
and the closed knowledge base as webhooks/django-helpdesk/README.md tells an admin to set it up
(`connector_access_setup`: queue "closed-kb", group "closed-kb-readers", non-public category
"closed-kb" with one item), plus a public category with one item. With `--accounts REGISTRY`
(the demo), also an account for each contact of a registry file, who can log in, and a staff
account for each contract's dedicated engineer, in a group holding every queue's permission.

Idempotent: run it again and it creates what is missing and sets the token and passwords given.

    python examples/helpdesk_site/bootstrap.py                       # the test suite's site
    python examples/helpdesk_site/bootstrap.py --token-file T --no-password \\
        --accounts examples/registry.json --accounts-password-file P # the demo's (examples/demo.py)

HELPDESK_SITE_DIR names the site's folder. Prints one JSON line: {"username", "password" (null
with --no-password), "token", "queue_id", "closed_queue_id", "accounts": [{"username", "email",
"staff", "id"}]}.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

USERNAME = "connector"
PASSWORD = "connector-test-password"  # the test site's API user; the demo's has no password (token only)
QUEUE_SLUG = "support"
KB_GROUP = "closed-kb-readers"
STAFF_GROUP = "helpdesk-staff"
CLOSED: dict[str, Any] = {
    "slug": "closed-kb",
    "title": "Closed knowledge base",
    "item": ("Licence server failover", "How to run two licence servers for KOMPAS-3D"),
}
PUBLIC: dict[str, Any] = {
    "slug": "public-kb",
    "title": "Public knowledge base",
    "item": ("Installing KOMPAS-3D", "Run the installer as an administrator"),
}
WRITTEN = ("tier", "first_response_due", "resolution_due", "flags")  # staff only: agents see them, requesters not
# name -> data type; the connector writes the first four and reads the last three.
CUSTOM_FIELDS = {
    "tier": "varchar",
    "first_response_due": "varchar",
    "resolution_due": "varchar",
    "flags": "varchar",
    "product": "varchar",
    "request_type": "varchar",
    "topic": "varchar",
}


def arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--token-file", type=Path, help="the API user's DRF token (default: a random one)")
    parser.add_argument(
        "--no-password",
        action="store_true",
        help="the API user logs in with its token only (default: the test password)",
    )
    parser.add_argument(
        "--accounts",
        type=Path,
        metavar="REGISTRY",
        help="a registry file: an account for each contact and dedicated engineer",
    )
    parser.add_argument("--accounts-password-file", type=Path, help="the password of those accounts")
    args = parser.parse_args(argv)
    if args.accounts and not args.accounts_password_file:
        parser.error("--accounts needs --accounts-password-file")
    return args


def main(argv: list[str] | None = None) -> None:
    """Migrate and create (or bring up to date) the fixtures of the site; print its credentials."""
    args = arguments(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk_site.settings")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", interactive=False, verbosity=0)
    from django.contrib.auth import get_user_model
    from helpdesk.models import CustomField, KBCategory, Queue
    from rest_framework.authtoken.models import Token

    user, _ = get_user_model().objects.get_or_create(
        username=USERNAME, defaults={"email": "connector@example.com", "is_staff": True, "is_superuser": True}
    )
    password = None if args.no_password else PASSWORD
    if password is None:
        user.set_unusable_password()
    else:
        user.set_password(password)
    user.save()
    key = args.token_file.read_text().strip() if args.token_file else None
    token = Token.objects.filter(user=user).first()
    if token is None or (key and token.key != key):  # the key is the row's primary key: replace the row
        Token.objects.filter(user=user).delete()
        token = Token.objects.create(user=user, **({"key": key} if key else {}))
    queue, _ = Queue.objects.get_or_create(
        slug=QUEUE_SLUG, defaults={"title": "Support", "allow_public_submission": True}
    )
    for order, (name, data_type) in enumerate(CUSTOM_FIELDS.items()):
        CustomField.objects.get_or_create(
            name=name,
            defaults={
                "label": name.replace("_", " ").capitalize()[:30],
                "data_type": data_type,
                "max_length": 200,
                "ordering": order,
                "staff_only": name in WRITTEN,
            },
        )
    staff_group = {"staff_group": STAFF_GROUP} if args.accounts else {}
    call_command(
        "connector_access_setup",
        group=KB_GROUP,
        queue=CLOSED["slug"],
        category=CLOSED["slug"],
        category_title=CLOSED["title"],
        verbosity=0,
        stdout=sys.stderr,
        stderr=sys.stderr,
        **staff_group,
    )
    kb_items(KBCategory.objects.get(slug=CLOSED["slug"]), CLOSED["item"])
    public, _ = KBCategory.objects.get_or_create(
        slug=PUBLIC["slug"],
        defaults={"name": PUBLIC["title"], "title": PUBLIC["title"], "description": "For everyone", "public": True},
    )
    kb_items(public, PUBLIC["item"])
    made = accounts(args.accounts, args.accounts_password_file.read_text().strip()) if args.accounts else []
    json.dump(
        {
            "username": USERNAME,
            "password": password,
            "token": token.key,
            "queue_id": queue.id,
            "closed_queue_id": Queue.objects.get(slug=CLOSED["slug"]).id,
            "accounts": made,
        },
        sys.stdout,
    )
    print()


def kb_items(category, item: tuple[str, str]) -> None:
    """One enabled item in the category."""
    from helpdesk.models import KBItem

    title, answer = item
    KBItem.objects.get_or_create(
        category=category, title=title, defaults={"question": f"{title}?", "answer": answer, "enabled": True}
    )


def accounts(registry: Path, password: str) -> list[dict]:
    """An active account per contact of the registry (user name = e-mail, as the connector's portal
    registration makes them) and a staff account per dedicated engineer (user name = the e-mail's
    local part) in the staff group, all with `password`; each as {"username", "email", "staff", "id"}."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group

    doc = json.loads(registry.read_text(encoding="utf-8"))
    hashed = make_password(password)  # once: the default hasher is slow on purpose
    people = [(c["email"].lower(), c.get("name") or "", False) for c in doc.get("contacts", [])]
    engineers = {
        c["sla"]["dedicated_engineer"].lower()
        for c in doc.get("contracts", [])
        if c.get("sla", {}).get("dedicated_engineer")
    }
    people += [(email, "Support engineer", True) for email in sorted(engineers)]
    made = []
    for email, name, staff in people:
        username = email.split("@")[0] if staff else email
        first, _, last = name.partition(" ")
        user, _ = get_user_model().objects.get_or_create(
            username=username, defaults={"email": email, "first_name": first[:150], "last_name": last[:150]}
        )
        user.email, user.is_active, user.is_staff, user.password = email, True, staff, hashed
        user.save()
        if staff:
            user.groups.add(Group.objects.get(name=STAFF_GROUP))
        made.append({"username": username, "email": email, "staff": staff, "id": user.id})
    return made


if __name__ == "__main__":
    if not __package__:  # run as a script: import the project from examples/, not from this folder
        sys.path[0] = str(Path(__file__).resolve().parent.parent)
    main()
