"""Add to your Django project's settings.py to make django-helpdesk (2.6) call the connector.

django-helpdesk 2.6 reads no HELPDESK_NEW_TICKET_WEBHOOK_URLS / HELPDESK_FOLLOWUP_WEBHOOK_URLS *setting*:
it calls HELPDESK_GET_NEW_TICKET_WEBHOOK_URLS() and HELPDESK_GET_FOLLOWUP_WEBHOOK_URLS() on every
new ticket / new follow-up, whose defaults read environment variables of those names (the
follow-up one splits on " , " with spaces only). Defining the two functions is the reliable way.

The URL carries the connector's webhook secret (`?token=`, at least 16 characters): django-helpdesk
cannot sign its requests. Keep the secret out of the repository: here it comes from the environment.
"""

import os

CONNECTOR_WEBHOOK_URL = (
    "https://connector.example/webhooks/django-helpdesk?token=" + os.environ["CONNECTOR_WEBHOOK_SECRET"]
)


def HELPDESK_GET_NEW_TICKET_WEBHOOK_URLS():  # noqa: N802 (the name django-helpdesk looks up)
    return [CONNECTOR_WEBHOOK_URL]


def HELPDESK_GET_FOLLOWUP_WEBHOOK_URLS():  # noqa: N802
    return [CONNECTOR_WEBHOOK_URL]


# Seconds django-helpdesk waits for the connector (its default is 3; the connector answers in ms).
HELPDESK_WEBHOOK_TIMEOUT = 3

# The connector authenticates to the REST API (/api/tickets/, /api/followups/) with a DRF token:
# add "rest_framework.authtoken" to INSTALLED_APPS (then `manage.py migrate`) and allow tokens.
# (Without this, DRF's defaults take basic auth and sessions; basic auth works too.)
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.BasicAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
}

# The closed knowledge base (README section 5): install the connector_access app (copy the folder
# next to your apps), include its urls before helpdesk's, run `manage.py connector_access_setup`.
#   INSTALLED_APPS += ["connector_access"]          # after "helpdesk" and "rest_framework"
# A non-public KB category on the closed-KB queue opens to holders of that queue's permission only
# in per-queue mode. It also limits staff who are not superusers to the queues whose permission
# they hold: put them in a group with every queue's permission (connector_access_setup --staff-group).
HELPDESK_ENABLE_PER_QUEUE_STAFF_PERMISSION = True
# The default, required: with it on, every logged-in customer reaches the staff views.
HELPDESK_ALLOW_NON_STAFF_TICKET_UPDATE = False
# The only groups the connector may change (each may hold nothing but helpdesk queue permissions).
CONNECTOR_KB_GROUPS = ["closed-kb-readers"]
