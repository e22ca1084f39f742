"""Zendesk: ticket-event webhooks, the Support API, the Webhooks API (see adapter.py)."""

from connector.platforms.zendesk.adapter import ZendeskAdapter

__all__ = ["ZendeskAdapter"]
