"""Prepare a fresh test site: migrate, an API user with a token, a queue, the connector's custom fields,
and the closed knowledge base as webhooks/django-helpdesk/README.md tells an admin to set it up
(`connector_access_setup`: queue "closed-kb", group "closed-kb-readers", non-public category
"closed-kb" with one item), plus a public category with one item.

Run as `python -m tests.helpdesk_site.bootstrap` from the repository root (HELPDESK_SITE_DIR set);
prints one JSON line: {"username", "password", "token", "queue_id", "closed_queue_id"}.
"""
from __future__ import annotations

import json
import os
import sys
from typing import Any

USERNAME = "connector"
PASSWORD = "connector-test-password"
QUEUE_SLUG = "support"
KB_GROUP = "closed-kb-readers"
CLOSED: dict[str, Any] = {"slug": "closed-kb", "title": "Closed knowledge base",
          "item": ("Licence server failover", "How to run two licence servers for KOMPAS-3D")}
PUBLIC: dict[str, Any] = {"slug": "public-kb", "title": "Public knowledge base",
          "item": ("Installing KOMPAS-3D", "Run the installer as an administrator")}
WRITTEN = ("tier", "first_response_due", "resolution_due", "flags")  # staff only: agents see them, requesters not
# name -> data type; the connector writes the first four and reads the last three.
CUSTOM_FIELDS = {
    "tier": "varchar", "first_response_due": "varchar", "resolution_due": "varchar", "flags": "varchar",
    "product": "varchar", "request_type": "varchar", "topic": "varchar",
}


def main() -> None:
    """Migrate and create the fixtures of the site; print its credentials."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.helpdesk_site.settings")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", interactive=False, verbosity=0)
    from django.contrib.auth import get_user_model
    from helpdesk.models import CustomField, KBCategory, Queue
    from rest_framework.authtoken.models import Token

    user = get_user_model().objects.create_superuser(USERNAME, "connector@example.com", PASSWORD)
    token = Token.objects.create(user=user)
    queue = Queue.objects.create(title="Support", slug=QUEUE_SLUG, allow_public_submission=True)
    for order, (name, data_type) in enumerate(CUSTOM_FIELDS.items()):
        CustomField.objects.create(name=name, label=name.replace("_", " ").capitalize()[:30],
                                   data_type=data_type, max_length=200, ordering=order,
                                   staff_only=name in WRITTEN)
    call_command("connector_access_setup", group=KB_GROUP, queue=CLOSED["slug"], category=CLOSED["slug"],
                 category_title=CLOSED["title"], verbosity=0, stdout=sys.stderr, stderr=sys.stderr)
    kb_items(KBCategory.objects.get(slug=CLOSED["slug"]), CLOSED["item"])
    public = KBCategory.objects.create(name=PUBLIC["title"], title=PUBLIC["title"], slug=PUBLIC["slug"],
                                       description="For everyone", public=True)
    kb_items(public, PUBLIC["item"])
    json.dump({"username": USERNAME, "password": PASSWORD, "token": token.key, "queue_id": queue.id,
               "closed_queue_id": Queue.objects.get(slug=CLOSED["slug"]).id}, sys.stdout)
    print()


def kb_items(category, item: tuple[str, str]) -> None:
    """One enabled item in the category."""
    from helpdesk.models import KBItem

    title, answer = item
    KBItem.objects.create(category=category, title=title, question=f"{title}?", answer=answer, enabled=True)


if __name__ == "__main__":
    main()
