"""The generic JSON webhook platform (Zammad, GLPI and in-house trackers, mapped in TOML)."""

from connector.platforms.generic.adapter import GenericAdapter

__all__ = ["GenericAdapter"]
