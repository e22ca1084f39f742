"""The explicit registry of platform adapters: platform name -> adapter class.

A new platform is one module or package here, one line below, a schema
`schemas/webhook.<name>.schema.json`, fixtures `tests/fixtures/<name>/` and `webhooks/<name>/`.
"""
from __future__ import annotations

from connector.core.errors import NotFound
from connector.platforms.base import Adapter
from connector.platforms.django_helpdesk import DjangoHelpdeskAdapter
from connector.platforms.zendesk import ZendeskAdapter

ADAPTERS: tuple[type[Adapter], ...] = (ZendeskAdapter, DjangoHelpdeskAdapter)


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
