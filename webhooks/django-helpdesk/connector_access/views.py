"""JSON endpoints for the connector, authenticated as django-helpdesk's own API is (DRF, with the
project's REST_FRAMEWORK authentication classes: token or basic auth).

Who may call them: active staff users who may add and change users (`auth.add_user` and
`auth.change_user`; superusers have both), the same bar as helpdesk's own POST /api/users/.

- GET  kb/holders/?group=NAME      -> {"group", "emails": [...]}
- POST kb/access/  {"group"?, "changes": [{"email", "action": "grant"|"revoke"}, ...]}
                                   -> {"group", "results": [{"email", "action", "ok", "detail"}, ...]}
  detail: "granted", "granted; account created", "revoked", "already" (nothing to do), or why not.
- POST portal-users/ {"email", "name"?} -> 201 {"email", "result": "created", "user_id"}
                                          or 200 {"email", "result": "exists", "user_id"}

Bad input is a 400 with {"error", "field"?}; a helpdesk configured so that the lever would not
work or would expose tickets is a 422 with {"error"} (not 409: clients retry a 409).
"""

from __future__ import annotations

from django.db import IntegrityError
from rest_framework import status
from rest_framework.permissions import BasePermission, IsAdminUser
from rest_framework.response import Response
from rest_framework.views import APIView

from connector_access import lever


class ManagesUsers(BasePermission):
    """Staff who may add and change users (helpdesk's /api/users/ asks the same)."""

    message = "needs a staff user with the auth.add_user and auth.change_user permissions"

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(
            user and user.is_authenticated and user.is_active and user.has_perms(["auth.add_user", "auth.change_user"])
        )


def bad(message: str, field: str | None = None) -> Response:
    """A 400 naming what is wrong."""
    body = {"error": message}
    if field:
        body["field"] = field
    return Response(body, status=status.HTTP_400_BAD_REQUEST)


def refused(exc: lever.Refused) -> Response:
    """A 400 (a group the connector may not manage) or a 422 (the helpdesk is set up wrong)."""
    if exc.bad_input:
        return bad(exc.message, "group")
    return Response({"error": exc.message}, status=status.HTTP_422_UNPROCESSABLE_ENTITY)


class ConnectorView(APIView):
    """Common to the endpoints: who may call them."""

    permission_classes = [IsAdminUser, ManagesUsers]


def _group_name(value) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise lever.Refused("group must be a string", bad_input=True)
    return value


class KbHolders(ConnectorView):
    """The e-mails of the closed-KB group's members."""

    def get(self, request):
        try:
            group = lever.managed_group(_group_name(request.query_params.get("group")))
        except lever.Refused as exc:
            return refused(exc)
        return Response({"group": group.name, "emails": lever.holders(group)})


class KbAccess(ConnectorView):
    """Grant or revoke a batch of e-mails; one result per change, in order."""

    def post(self, request):
        doc = request.data
        if not isinstance(doc, dict):
            return bad("the body must be a JSON object")
        changes = doc.get("changes")
        limit = lever.max_batch()
        if not isinstance(changes, list) or not changes:
            return bad("changes must be a non-empty list of {email, action}", "changes")
        if len(changes) > limit:
            return bad(f"at most {limit} changes per request (got {len(changes)})", "changes")
        parsed = []
        for i, change in enumerate(changes):
            if not isinstance(change, dict):
                return bad("each change must be an object {email, action}", f"changes[{i}]")
            action = change.get("action")
            if action not in (lever.GRANT, lever.REVOKE):
                return bad('action must be "grant" or "revoke"', f"changes[{i}].action")
            if not isinstance(change.get("email"), str):
                return bad("email must be a string", f"changes[{i}].email")
            parsed.append((change["email"], action))
        try:
            group = lever.managed_group(_group_name(doc.get("group")))
            if any(action == lever.GRANT for _, action in parsed):
                problems = lever.configuration_problems()
                if problems:
                    raise lever.Refused("; ".join(problems))
        except lever.Refused as exc:
            return refused(exc)
        results = [self._one(group, raw, action).as_json() for raw, action in parsed]
        return Response({"group": group.name, "results": results})

    @staticmethod
    def _one(group, raw: str, action: str) -> lever.Result:
        try:
            email = lever.clean_email(raw)
        except ValueError as exc:
            return lever.Result(raw[:254], action, False, str(exc))
        try:
            return lever.grant(group, email) if action == lever.GRANT else lever.revoke(group, email)
        except (ValueError, IntegrityError) as exc:
            return lever.Result(email, action, False, f"{type(exc).__name__}: {exc}"[:300])


class PortalUsers(ConnectorView):
    """Make sure a portal user (an ordinary, non-staff account) exists for an e-mail."""

    def post(self, request):
        doc = request.data
        if not isinstance(doc, dict):
            return bad("the body must be a JSON object")
        try:
            email = lever.clean_email(doc.get("email"))
        except ValueError as exc:
            return bad(f"email: {exc}", "email")
        name = doc.get("name")
        if name is not None and not isinstance(name, str):
            return bad("name must be a string", "name")
        try:
            created, user = lever.ensure_portal_user(email, name)
        except ValueError as exc:
            return bad(str(exc), "email")
        except IntegrityError:
            created, user = False, lever.users_with(email)[0]  # made by a concurrent request
        return Response(
            {"email": email, "result": "created" if created else "exists", "user_id": user.pk},
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )
