"""The site's URLs: helpdesk (with its REST API under /api/) at the root, the connector's
access endpoints under /connector/ (before helpdesk's), and the admin."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("connector/", include("connector_access.urls")),
    path("", include("helpdesk.urls", namespace="helpdesk")),
]
