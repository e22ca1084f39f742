"""The explicit registry of platform adapters: platform name -> adapter class.

A new platform is one package here (`connector/platforms/<name>/`), one line in `ADAPTERS`,
its webhook schema `schemas/webhook.<name>.schema.json`, its fixtures `tests/fixtures/<name>/`
(the shared contract suite runs on them) and `webhooks/<name>/`. Nothing else: the config check,
the manifest, the docs' platform table and the CLI's choices follow from the class.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connector.core.errors import NotFound
from connector.platforms.base import Adapter
from connector.platforms.django_helpdesk import DjangoHelpdeskAdapter
from connector.platforms.freshdesk import FreshdeskAdapter
from connector.platforms.generic import GenericAdapter
from connector.platforms.jira_service_management import JiraServiceManagementAdapter
from connector.platforms.redmine import RedmineAdapter
from connector.platforms.rt5 import Rt5Adapter
from connector.platforms.zendesk import ZendeskAdapter

ADAPTERS: tuple[type[Adapter], ...] = (
    ZendeskAdapter,
    DjangoHelpdeskAdapter,
    Rt5Adapter,
    JiraServiceManagementAdapter,
    FreshdeskAdapter,
    GenericAdapter,
    RedmineAdapter,
)


def _adapters() -> dict[str, type[Adapter]]:
    return {cls.name: cls for cls in ADAPTERS}


def adapter_class(name: str) -> type[Adapter]:
    """The adapter class for a platform name; NotFound for an unknown one."""
    try:
        return _adapters()[name]
    except KeyError:
        raise NotFound(f"unknown platform {name!r} (known: {', '.join(sorted(_adapters()))})") from None


def platform_names() -> list[str]:
    """Every platform the connector has an adapter for."""
    return sorted(_adapters())


def settings_schemas() -> dict[str, Mapping[str, Any]]:
    """Each platform's settings schema (its credentials, fields and options), by name."""
    return {cls.name: cls.settings_schema for cls in ADAPTERS}
