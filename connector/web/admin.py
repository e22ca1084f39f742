"""Who may see the status page and its reports: the admin, by the config's `[admin] token`.

Fail closed: without a token configured every admin route answers 404. A browser logs in once at
`/login` (a form with a password field `token`) and gets a session cookie (HttpOnly,
SameSite=Strict, signed with a key derived from the token: changing the token ends every
session); scripts send `Authorization: Bearer <token>` instead (a wrong one is 401). Every
POST of a session carries its CSRF token and, when the browser says where it comes from, the
same Origin: otherwise 403 and nothing is done.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Flask, abort, current_app, g, redirect, render_template, request, session, url_for

from connector.core.errors import Unauthorized

bp = Blueprint("admin", __name__, template_folder="templates")
SESSION_KEY_CONTEXT = b"connector status page session v1"


def _settings() -> dict[str, Any]:
    return current_app.extensions["connector"].config.admin


def _token() -> str:
    """The admin token; 404 when none is configured (the page does not exist then)."""
    token = _settings().get("token")
    if not token:
        abort(404)
    return token


def init_app(app: Flask) -> None:
    """Session cookies for the admin (when a token is configured) and the blueprint."""
    token = app.extensions["connector"].config.admin.get("token")
    if token:
        app.secret_key = hmac.new(token.encode(), SESSION_KEY_CONTEXT, hashlib.sha256).hexdigest()
    app.config.update(
        SESSION_COOKIE_NAME="connector_admin", SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Strict"
    )
    app.register_blueprint(bp)


def _same(given: str, token: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8", "surrogateescape"), token.encode())


def signed_in() -> bool:
    """Whether the request is the admin's: a right Bearer token (a wrong one: 401), or a live session."""
    token = _token()
    header = request.headers.get("Authorization")
    if header is not None:
        scheme, _, given = header.partition(" ")
        if scheme.lower() != "bearer" or not _same(given.strip(), token):
            raise Unauthorized("wrong or malformed Authorization: give Bearer <the admin token>")
        g.bearer = True
        return True
    started = session.get("admin_at")
    hours = float(_settings().get("session_hours", 12))
    return isinstance(started, (int, float)) and 0 <= time.time() - started < hours * 3600


def admin_only(view: Callable) -> Callable:
    """The view for the admin only: others go to the login form (404 without a token configured)."""

    @wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if not signed_in():
            return redirect(url_for("admin.login"))
        return view(*args, **kwargs)

    return guarded


def csrf_token() -> str:
    """The session's CSRF token (for the forms of the page)."""
    return session.get("csrf", "")


def check_origin() -> None:
    """403 when the browser says the request comes from another site (Origin)."""
    origin = request.headers.get("Origin")
    if origin is not None:
        here, there = urlsplit(request.host_url), urlsplit(origin)
        if (there.scheme, there.netloc) != (here.scheme, here.netloc):
            abort(403, description=f"cross-origin request from {origin[:80]} refused")


def check_post() -> None:
    """403 unless the POST comes from this site: the same Origin (when the browser sends one) and,
    for a session, its CSRF token in the form (a Bearer token cannot be sent by another site)."""
    check_origin()
    if g.get("bearer"):
        return
    given, expected = request.form.get("csrf", ""), session.get("csrf", "")
    if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        abort(403, description="missing or wrong CSRF token: reload the page and try again")


@bp.route("/login", methods=["GET", "POST"])
def login():
    """The login form; a right token starts a session (303 to the status page)."""
    token = _token()
    if request.method == "GET":
        if signed_in():
            return redirect(url_for("status.page"))
        return render_template("login.html", error=None)
    check_origin()  # no session yet, so no CSRF token to compare
    if not _same(request.form.get("token", ""), token):
        return render_template("login.html", error="That is not the admin token."), 401
    session.clear()
    session.update(admin_at=time.time(), csrf=secrets.token_urlsafe(32))
    return redirect(url_for("status.page"), 303)


@bp.post("/logout")
@admin_only
def logout():
    """End the session."""
    check_post()
    session.clear()
    return redirect(url_for("admin.login"), 303)
