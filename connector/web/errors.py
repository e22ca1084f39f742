"""The one place where errors become HTTP answers: a JSON body that names the problem."""

from __future__ import annotations

import logging

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

from connector.core.errors import ConnectorError, ValidationFailed

log = logging.getLogger(__name__)


def init_app(app: Flask) -> None:
    """Register the handlers on `app`."""

    @app.errorhandler(ConnectorError)
    def connector_error(exc: ConnectorError):
        body: dict[str, str | list[str]] = {"error": exc.message}
        if exc.where:
            body["where"] = exc.where
        if isinstance(exc, ValidationFailed):
            body["problems"] = exc.problems
        return jsonify(body), exc.http_status

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        return jsonify(error=exc.description or exc.name), exc.code

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):  # a bug: say so without details, keep the traceback in the log
        log.exception("unexpected error")
        return jsonify(error="internal error"), 500
