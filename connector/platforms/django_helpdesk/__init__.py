"""django-helpdesk: built-in webhooks (new ticket, new follow-up) in; `due_date` and `custom_*` fields out."""

from connector.platforms.django_helpdesk.adapter import DjangoHelpdeskAdapter

__all__ = ["DjangoHelpdeskAdapter"]
