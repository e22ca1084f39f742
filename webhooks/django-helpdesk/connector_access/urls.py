"""Include under the same prefix as helpdesk's urls, *before* them, e.g. in the project's urls.py:

    path("connector/", include("connector_access.urls")),   # next to path("", include("helpdesk.urls", ...))

The connector then calls <base_url>/connector/... (its option `access_path`, default "/connector").
"""

from django.urls import path

from connector_access import views

app_name = "connector_access"
urlpatterns = [
    path("kb/holders/", views.KbHolders.as_view(), name="kb_holders"),
    path("kb/access/", views.KbAccess.as_view(), name="kb_access"),
    path("portal-users/", views.PortalUsers.as_view(), name="portal_users"),
]
