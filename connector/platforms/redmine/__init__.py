"""Redmine 5: the connector_webhooks plugin we ship (Standard Webhooks) in; `due_date`, custom fields,
private notes, the assignee and a KB group out, through the REST API."""

from connector.platforms.redmine.adapter import RedmineAdapter

__all__ = ["RedmineAdapter"]
