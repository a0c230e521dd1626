"""The web application: the app factory and its blueprints."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from flask import Flask, g, jsonify, request
from werkzeug.exceptions import HTTPException

from exchange.errors import ExchangeError
from exchange.instance import Instance, open_instance
from exchange.logs import configure_logging, get_logger
from exchange.vault.workdirs import sweep_dead_work_dirs

log = get_logger(__name__)

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    # No page needs these browser features; the same list as deploy/nginx/exchange.conf.
    "Permissions-Policy": (
        "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), "
        "microphone=(), payment=(), usb=()"
    ),
    "Cache-Control": "no-store",
}


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Create the web app for the instance described by the settings."""
    instance = open_instance(test_config)
    configure_logging(instance.config)
    app = Flask(__name__, instance_path=str(instance.home))
    app.config.update(
        SECRET_KEY=instance.config.get("SECRET_KEY") or _secret_key(instance.home),
        SESSION_COOKIE_SECURE=True,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        MAX_CONTENT_LENGTH=instance.config["MAX_BUNDLE_BYTES"],
    )
    app.extensions["exchange"] = instance
    sweep_dead_work_dirs(instance.home)
    _install_request_hooks(app)
    _install_error_handlers(app)

    from exchange.tasks.celery_app import make_celery
    from exchange.web.health import health
    from exchange.web.metrics import metrics
    from exchange.web.school_api import school_api

    app.extensions["celery"] = make_celery(instance.config)
    instance.on_close(app.extensions["celery"].close)
    app.register_blueprint(health)
    app.register_blueprint(school_api)
    app.register_blueprint(metrics)

    from exchange.web.setup import init_app as init_pages

    init_pages(app)
    from exchange.subject_access.web import init_app as init_subject_access

    init_subject_access(app)
    return app


def current_instance(app: Flask) -> Instance:
    """Return the instance the app serves."""
    return app.extensions["exchange"]


def _secret_key(home: Path) -> str:
    path = home / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def _install_request_hooks(app: Flask) -> None:
    @app.before_request
    def _request_id() -> None:
        incoming = request.headers.get("X-Request-Id", "")
        valid = incoming.isascii() and incoming.replace("-", "").isalnum() and len(incoming) <= 64
        g.request_id = incoming if incoming and valid else secrets.token_hex(8)

    @app.after_request
    def _headers(response: Any) -> Any:
        response.headers.update(SECURITY_HEADERS)
        response.headers["X-Request-Id"] = g.get("request_id", "")
        return response


def _install_error_handlers(app: Flask) -> None:
    @app.errorhandler(ExchangeError)
    def _exchange_error(error: ExchangeError) -> Any:
        return jsonify(error.to_dict()), error.status_code

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Any:
        body = {
            "error": (error.name or "error").lower().replace(" ", "_"),
            "message": error.description,
        }
        return jsonify(body), error.code or 500

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Any:
        log.error("unexpected error", extra={"error_type": type(error).__name__})
        return jsonify({"error": "internal_error", "message": "something went wrong"}), 500
