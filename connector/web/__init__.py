"""The connector's web app: `create_app` (the Flask factory), webhooks, health and metrics, and
the admin's status page with its reports."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask, Response, jsonify

from connector.composition import Connector, compose, configuration
from connector.config.settings import Config, config_from_mapping
from connector.platforms import settings_schemas
from connector.web import admin, errors, status, webhooks

HEALTH_CAP = 1000  # /healthz counts each status up to this (1000 means "1000 or more")


def create_app(
    config: Config | None = None, test_config: Mapping[str, Any] | None = None, runtime: Connector | None = None
) -> Flask:
    """A Flask app for `config` (default: CONNECTOR_CONFIG or built-in defaults); `test_config`
    is a config document (as the TOML would parse) for tests; `runtime` a connector composed
    already (`connector serve` shares it with its workers)."""
    app = Flask(__name__)
    if runtime is None:
        if test_config is not None:
            config = config_from_mapping(test_config, Path.cwd(), "test config", settings_schemas())
        runtime = compose(config or configuration())
    app.extensions["connector"] = runtime
    app.config["MAX_BODY_BYTES"] = runtime.config.server["max_body_bytes"]
    errors.init_app(app)
    app.register_blueprint(webhooks.bp)
    admin.init_app(app)  # the status page's login: 404 everywhere without an [admin] token
    app.register_blueprint(status.bp)

    @app.get("/healthz")
    def healthz():
        """200 when the database answers, with the backlog (pending, processing, failed: each
        counted from an index of those rows only, up to HEALTH_CAP: a probe stays cheap however
        long the history and the backlog); 503 otherwise."""
        try:
            counts = runtime.store.backlog(HEALTH_CAP)
        except Exception as exc:  # noqa: BLE001 - health must answer, whatever the failure
            return jsonify(status="unavailable", error=type(exc).__name__), 503
        return jsonify(status="ok", platforms=sorted(runtime.adapters), events=counts)

    @app.get("/metrics")
    def metrics():
        """Prometheus text format."""
        return Response(runtime.metrics.render(), mimetype=runtime.metrics.content_type)

    return app
