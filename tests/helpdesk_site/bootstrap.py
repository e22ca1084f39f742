"""Prepare a fresh test site: migrate, an API user with a token, a queue, the connector's custom fields.

Run as `python -m tests.helpdesk_site.bootstrap` from the repository root (HELPDESK_SITE_DIR set);
prints one JSON line: {"username", "password", "token", "queue_id"}.
"""
from __future__ import annotations

import json
import os
import sys

USERNAME = "connector"
PASSWORD = "connector-test-password"
QUEUE_SLUG = "support"
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
    from helpdesk.models import CustomField, Queue
    from rest_framework.authtoken.models import Token

    user = get_user_model().objects.create_superuser(USERNAME, "connector@example.com", PASSWORD)
    token = Token.objects.create(user=user)
    queue = Queue.objects.create(title="Support", slug=QUEUE_SLUG, allow_public_submission=True)
    for order, (name, data_type) in enumerate(CUSTOM_FIELDS.items()):
        CustomField.objects.create(name=name, label=name.replace("_", " ").capitalize()[:30],
                                   data_type=data_type, max_length=200, ordering=order,
                                   staff_only=name in WRITTEN)
    json.dump({"username": USERNAME, "password": PASSWORD, "token": token.key, "queue_id": queue.id}, sys.stdout)
    print()


if __name__ == "__main__":
    main()
