"""Settings of the local django-helpdesk site (the demo of `make run` and the test suite's instance):
SQLite in $HELPDESK_SITE_DIR, webhooks from the environment or from files there.

Only for loopback: DEBUG (so runserver serves the static files), no e-mail leaves the process.
The secret key comes from $HELPDESK_SECRET_KEY_FILE (the demo makes a random one outside the
repository); without it, a throwaway one that is fine only for a test run.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

# The connector's access app as an admin installs it: the folder webhooks/django-helpdesk/connector_access.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "webhooks" / "django-helpdesk"))

# The demo passes .demo/helpdesk, the tests a fresh temporary folder; by hand, a fixed one outside the repository.
SITE_DIR = Path(os.environ.get("HELPDESK_SITE_DIR", Path(tempfile.gettempdir()) / "connector-helpdesk-site"))
SITE_DIR.mkdir(parents=True, exist_ok=True)

_KEY_FILE = os.environ.get("HELPDESK_SECRET_KEY_FILE")
SECRET_KEY = Path(_KEY_FILE).expanduser().read_text().strip() if _KEY_FILE else "test-only-not-a-secret"
DEBUG = True
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "helpdesk_site.urls"
SITE_ID = 1
TIME_ZONE = "UTC"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sites",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "helpdesk",
    "connector_access",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": SITE_DIR / "helpdesk.sqlite3"}}
STATIC_URL = "/static/"
MEDIA_ROOT = SITE_DIR / "media"
LOGIN_URL = "helpdesk:login"  # helpdesk is at the root here; its login view redirects to any other LOGIN_URL
# Follow-ups e-mail staff and submitters: keep those messages in memory.
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

# The API takes a DRF token (what the connector uses) and basic auth (an admin's alternative).
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.BasicAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
}

HELPDESK_TEAMS_MODE_ENABLED = False
# The closed knowledge base (connector_access): a non-public KB category on a dedicated queue is
# shown to whoever holds that queue's permission, which needs per-queue mode. In that mode staff
# who are not superusers see only the queues whose permission they hold; the API user is a superuser.
HELPDESK_ENABLE_PER_QUEUE_STAFF_PERMISSION = True
HELPDESK_ALLOW_NON_STAFF_TICKET_UPDATE = False  # the default, said out loud: customers stay out of staff views
CONNECTOR_KB_GROUPS = ["closed-kb-readers"]
# Tests log many customers in with passwords they set: a fast hasher for them only
# (HELPDESK_FAST_PASSWORD_HASHER=1, tests/helpdesk_fixture.py); the demo keeps Django's default.
if os.environ.get("HELPDESK_FAST_PASSWORD_HASHER") == "1":
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
HELPDESK_WEBHOOK_TIMEOUT = float(os.environ.get("HELPDESK_WEBHOOK_TIMEOUT", "3"))


def _urls(name: str) -> list[str]:
    """A comma-separated list of URLs from the environment (re-read on every event)."""
    return [u.strip() for u in os.environ.get(name, "").split(",") if u.strip()]


def _url_file(kind: str) -> list[str]:
    """Webhook URLs a running site can change: one per line in $HELPDESK_SITE_DIR/<kind>_webhook_urls."""
    path = SITE_DIR / f"{kind}_webhook_urls"
    try:
        return [u.strip() for u in path.read_text().splitlines() if u.strip()]
    except FileNotFoundError:
        return []


# helpdesk calls these on every event, so the webhooks can be repointed without a restart.
def HELPDESK_GET_NEW_TICKET_WEBHOOK_URLS() -> list[str]:  # noqa: N802 (the name helpdesk reads)
    return _urls("HELPDESK_NEW_TICKET_WEBHOOK_URLS") + _url_file("new_ticket")


def HELPDESK_GET_FOLLOWUP_WEBHOOK_URLS() -> list[str]:  # noqa: N802
    return _urls("HELPDESK_FOLLOWUP_WEBHOOK_URLS") + _url_file("followup")
