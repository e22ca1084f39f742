"""Jira Service Management Cloud: admin webhooks, the Jira and JSM REST APIs (see adapter.py)."""

from connector.platforms.jira_service_management.adapter import JiraServiceManagementAdapter

__all__ = ["JiraServiceManagementAdapter"]
