"""connector_access: the support-entitlement connector's lever on django-helpdesk (2.6).

django-helpdesk has no API for users or groups, and no per-user knowledge-base rights. A non-public
KB category is shown to a non-superuser only when the category names a queue and the user holds that
queue's permission with HELPDESK_ENABLE_PER_QUEUE_STAFF_PERMISSION on (helpdesk/user.py,
HelpdeskUser.can_access_kbcategory / can_access_queue). This app keeps a Django group ("closed KB
readers") that holds the permission of one dedicated, ticket-less queue, and lets the connector
list, grant and revoke its membership and register portal users over JSON endpoints that
authenticate like the helpdesk's own API (DRF: token or basic auth, staff only).
See README.md next to this folder.
"""
