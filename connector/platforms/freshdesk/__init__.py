"""Freshdesk: automation-rule webhooks, the API v2 (see adapter.py)."""

from connector.platforms.freshdesk.adapter import FreshdeskAdapter

__all__ = ["FreshdeskAdapter"]
