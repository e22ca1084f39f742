"""Request Tracker 5: the scrip we ship (webhooks/rt5/) signs Standard Webhooks; REST 2 out."""

from connector.platforms.rt5.adapter import Rt5Adapter

__all__ = ["Rt5Adapter"]
