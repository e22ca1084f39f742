"""The Django app config."""

from django.apps import AppConfig


class ConnectorAccessConfig(AppConfig):
    """No models: it uses django.contrib.auth's users and groups and helpdesk's queues."""

    name = "connector_access"
    label = "connector_access"
    verbose_name = "Support-entitlement connector: KB access and portal users"
