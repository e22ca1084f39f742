"""The closed-KB group and portal users: what the views and the setup command share.

Settings this reads (all optional):
- CONNECTOR_KB_GROUPS: the groups the connector may manage (default ["closed-kb-readers"]). The
  connector can touch no other group, and none of these if it holds anything but helpdesk queue
  permissions (so a misconfigured group can never hand out admin rights).
- CONNECTOR_ACCESS_MAX_BATCH: most e-mails per grant/revoke request (default 100).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q

DEFAULT_GROUP = "closed-kb-readers"
GRANT, REVOKE = "grant", "revoke"


class Refused(Exception):
    """The request cannot be served as the helpdesk is configured (HTTP 422: retrying will not help
    until an admin fixes it), or names a group the connector may not manage (HTTP 400, `bad_input`)."""

    def __init__(self, message: str, bad_input: bool = False) -> None:
        super().__init__(message)
        self.message, self.bad_input = message, bad_input


def allowed_groups() -> list[str]:
    """CONNECTOR_KB_GROUPS, or the default group."""
    groups = getattr(settings, "CONNECTOR_KB_GROUPS", None) or [DEFAULT_GROUP]
    return [str(g) for g in groups]


def max_batch() -> int:
    """CONNECTOR_ACCESS_MAX_BATCH (at least 1), default 100."""
    return max(1, int(getattr(settings, "CONNECTOR_ACCESS_MAX_BATCH", 100)))


def helpdesk_setting(name: str, default=False):
    """A django-helpdesk setting as helpdesk itself reads it (its defaults applied)."""
    from helpdesk import settings as helpdesk_settings

    return getattr(helpdesk_settings, name, default)


def configuration_problems() -> list[str]:
    """Why membership of the group would not work or would expose too much; empty when fine.

    - Without HELPDESK_ENABLE_PER_QUEUE_STAFF_PERMISSION a queue permission opens nothing to a
      non-superuser (HelpdeskUser.can_access_queue), so a grant would silently grant nothing.
    - With HELPDESK_ALLOW_NON_STAFF_TICKET_UPDATE on, every logged-in user reaches the staff
      views (decorators.is_helpdesk_staff), where a queue permission lists that queue's tickets.
    """
    problems = []
    if not helpdesk_setting("HELPDESK_ENABLE_PER_QUEUE_STAFF_PERMISSION"):
        problems.append(
            "HELPDESK_ENABLE_PER_QUEUE_STAFF_PERMISSION is off: membership of the group "
            "opens no non-public KB category (set it to True; see the README)"
        )
    if helpdesk_setting("HELPDESK_ALLOW_NON_STAFF_TICKET_UPDATE"):
        problems.append(
            "HELPDESK_ALLOW_NON_STAFF_TICKET_UPDATE is on: customers reach the staff views, "
            "so granting queue permissions to customers is refused"
        )
    return problems


def foreign_permissions(group: Group) -> list[str]:
    """The group's permissions that are not helpdesk queue-access permissions."""
    return sorted(
        f"{p.content_type.app_label}.{p.codename}"
        for p in group.permissions.select_related("content_type")
        if not (p.content_type.app_label == "helpdesk" and p.codename.startswith("queue_access_"))
    )


def managed_group(name: str | None) -> Group:
    """The group named (default: the first allowed one), if the connector may manage it."""
    allowed = allowed_groups()
    name = name or allowed[0]
    if name not in allowed:
        raise Refused(
            f"group {name!r} is not one the connector may manage (CONNECTOR_KB_GROUPS: {', '.join(allowed)})",
            bad_input=True,
        )
    try:
        group = Group.objects.get(name=name)
    except Group.DoesNotExist:
        raise Refused(f"group {name!r} does not exist: run `manage.py connector_access_setup --group {name}`") from None
    foreign = foreign_permissions(group)
    if foreign:
        raise Refused(
            f"group {name!r} holds permissions other than helpdesk queue access "
            f"({', '.join(foreign[:5])}): the connector will not hand those out"
        )
    return group


def clean_email(value) -> str:
    """A lower-case, syntactically valid e-mail address, or ValueError."""
    if not isinstance(value, str):
        raise ValueError("not a string")
    email = value.strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise ValueError("not a valid e-mail address") from None
    return email


def _user_model():
    return get_user_model()


def users_with(email: str) -> list:
    """The accounts whose e-mail (or user name) is `email`, case-insensitively."""
    User = _user_model()
    q = Q(**{f"{User.get_email_field_name()}__iexact": email})
    q |= Q(**{f"{User.USERNAME_FIELD}__iexact": email})
    return list(User._default_manager.filter(q).order_by("pk"))


def holders(group: Group) -> list[str]:
    """Lower-case e-mails of the group's members (members without an e-mail are left out)."""
    field = _user_model().get_email_field_name()
    emails = {(e or "").strip().lower() for e in group.user_set.values_list(field, flat=True)}
    return sorted(e for e in emails if e)


@dataclass
class Result:
    """One e-mail's outcome, as the endpoint answers it."""

    email: str
    action: str
    ok: bool
    detail: str

    def as_json(self) -> dict:
        return {"email": self.email, "action": self.action, "ok": self.ok, "detail": self.detail}


def create_user(email: str, name: str | None = None):
    """A new active account: user name = e-mail, no usable password (the person sets one with
    the helpdesk's password reset), not staff."""
    User = _user_model()
    username_field = User._meta.get_field(User.USERNAME_FIELD)
    if username_field.max_length and len(email) > username_field.max_length:
        raise ValueError(f"the e-mail is longer than a user name may be ({username_field.max_length})")
    fields = {User.USERNAME_FIELD: email, User.get_email_field_name(): email}
    first, _, last = (name or "").strip().partition(" ")
    for attr, value in (("first_name", first), ("last_name", last.strip())):
        try:
            limit = User._meta.get_field(attr).max_length or 150
        except FieldDoesNotExist:  # a custom user model without it
            continue
        fields[attr] = value[:limit]
    user = User(**fields)
    user.set_unusable_password()
    user.is_active = True
    user.save()
    return user


def grant(group: Group, email: str) -> Result:
    """Make `email` a member (creating its account if there is none)."""
    with transaction.atomic():
        users = users_with(email)
        if len(users) > 1:
            return Result(email, GRANT, False, f"ambiguous: {len(users)} accounts have this e-mail")
        created = not users
        user = create_user(email) if created else users[0]
        if not created and group.user_set.filter(pk=user.pk).exists():
            return Result(email, GRANT, True, "already")
        user.groups.add(group)
    detail = "granted; account created" if created else "granted"
    if not user.is_active:
        detail += "; the account is inactive (left as it is)"
    return Result(email, GRANT, True, detail)


def revoke(group: Group, email: str) -> Result:
    """Take every account with `email` out of the group; accounts are never deleted."""
    with transaction.atomic():
        members = [u for u in users_with(email) if group.user_set.filter(pk=u.pk).exists()]
        if not members:
            return Result(email, REVOKE, True, "already")
        group.user_set.remove(*members)
    return Result(email, REVOKE, True, "revoked")


def ensure_portal_user(email: str, name: str | None) -> tuple[bool, object]:
    """(created, user): the account for `email`, created when there is none."""
    with transaction.atomic():
        users = users_with(email)
        if users:
            return False, users[0]
        return True, create_user(email, name)
