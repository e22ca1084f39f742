"""The customer the tests against a real django-helpdesk share: ivan@customer.example (Ivanov
Design) holds an update package bought 100 days ago, so a warranty; and the URL token the
helpdesk's webhooks carry to the connector."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pytest

SECRET = "e2e-helpdesk-url-token-0123456789"
TODAY = datetime.now(UTC).date()
REGISTRY = {
    "products": [{"code": "KOMPAS", "name": "KOMPAS-3D"}],
    "customers": [{"id": "C-IV", "name": "Ivanov Design", "email_domains": ["customer.example"]}],
    "contacts": [{"email": "ivan@customer.example", "customer": "C-IV"}],
    "licenses": [{"customer": "C-IV", "product": "KOMPAS", "since": "2020-01-01"}],
    "purchases": [
        {
            "customer": "C-IV",
            "product": "KOMPAS",
            "kind": "update_package",
            "date": (TODAY - timedelta(days=100)).isoformat(),
        }
    ],
    "contracts": [],
}


def require_helpdesk() -> None:
    """django-helpdesk and DRF importable: a skip on a developer machine, a failure under CI."""
    try:
        import helpdesk  # noqa: F401
        import rest_framework  # noqa: F401
    except ImportError as exc:
        reason = f"django-helpdesk is not installed ({exc}); pip install -e '.[test]'"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
