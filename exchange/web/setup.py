"""Wire the signed-in web service into the app: CSRF, rate limits, sessions and blueprints."""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, g, render_template, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFError, CSRFProtect, generate_csrf
from werkzeug.exceptions import HTTPException

from exchange.auth.permissions import can
from exchange.logs import get_logger
from exchange.outbox.service import celery_sender, dispatch, written_in
from exchange.web.access import current_user

log = get_logger(__name__)
csrf = CSRFProtect()
limiter = Limiter(get_remote_address, storage_uri="memory://", default_limits=[])
PAGE_ERRORS = {
    400: "The form could not be sent",
    401: "Sign in to continue",
    403: "You do not have access to this page",
    404: "Page not found",
    405: "That action is not possible here",
    413: "The file is too large",
    429: "Too many attempts",
}


def init_app(app: Flask) -> None:
    """Install sign-in, CSRF, rate limits, the request transaction and the page blueprints."""
    config = app.extensions["exchange"].config
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", 8 * 3600)
    app.config["SESSION_COOKIE_SECURE"] = not config.get("INSECURE_HTTP_COOKIES_FOR_TESTS")
    app.config["PERMANENT_SESSION_LIFETIME"] = int(config.get("SESSION_HOURS", 8)) * 3600
    app.config["SESSION_HOURS"] = int(config.get("SESSION_HOURS", 8))
    app.config["SESSION_IDLE_SECONDS"] = int(config.get("SESSION_IDLE_SECONDS", 1800))
    app.config["RATELIMIT_ENABLED"] = bool(config.get("RATELIMIT_ENABLED", True))
    app.config["FRESH_SECOND_FACTOR_SECONDS"] = int(config.get("FRESH_SECOND_FACTOR_SECONDS", 300))
    csrf.init_app(app)
    limiter.init_app(app)
    app.extensions.setdefault("task_runner", _send_with_celery)
    _install_transaction(app)
    _install_page_errors(app)
    _register_blueprints(app)
    app.jinja_env.globals.update(csrf_token=generate_csrf, can=can, current_user=current_user)
    app.jinja_env.filters["sentence"] = sentence


def sentence(text: str) -> str:
    """Return the text with its first letter in capitals and the rest as it was.

    Jinja's `capitalize` lowers the rest ("Monday 4 January" would read "monday 4 january").
    """
    return text[:1].upper() + text[1:]


def _send_with_celery(task: str, args: list[Any], outbox_id: int) -> None:
    celery_sender(current_app.extensions["celery"])(task, args, outbox_id)


def send_outbox(ids: list[int]) -> None:
    """Send the outbox rows a committed transaction wrote (the beat sweeps any left behind)."""
    if ids:
        dispatch(
            current_app.extensions["exchange"].sessions, current_app.extensions["task_runner"], ids
        )


def _install_transaction(app: Flask) -> None:
    @app.after_request
    def _commit(response: Any) -> Any:
        session = g.pop("db", None)
        if session is None:
            return response
        pending: list[int] = []
        try:
            if response.status_code < 400:
                session.commit()
                pending = written_in(session)
            else:
                session.rollback()
        finally:
            session.close()
        send_outbox(pending)
        return response

    @app.teardown_request
    def _close(_error: BaseException | None) -> None:
        session = g.pop("db", None)
        if session is not None:
            session.rollback()
            session.close()


def _wants_html() -> bool:
    return not (request.path.startswith("/api/") or request.path.startswith("/s2s/"))


def _install_page_errors(app: Flask) -> None:
    json_handler = app.error_handler_spec[None][None].get(HTTPException)

    @app.errorhandler(CSRFError)
    def _csrf(_error: CSRFError) -> Any:
        log.info("form refused without a valid CSRF token")
        message = "The form had expired or was not sent from this service. Go back and try again."
        return render_template(
            "error.html", title="The form could not be sent", message=message
        ), 400

    @app.errorhandler(HTTPException)
    def _page_error(error: HTTPException) -> Any:
        if not _wants_html() and json_handler is not None:
            return json_handler(error)
        code = error.code or 500
        title = PAGE_ERRORS.get(code, error.name)
        return render_template("error.html", title=title, message=error.description), code


def _register_blueprints(app: Flask) -> None:
    from exchange.web.account_pages import account_pages
    from exchange.web.admin_pages import admin_pages
    from exchange.web.api import api
    from exchange.web.batch_pages import batch_pages
    from exchange.web.destination_pages import destination_pages
    from exchange.web.document_viewer import document_viewer
    from exchange.web.dpo_pages import dpo_pages
    from exchange.web.dpo_records import dpo_records
    from exchange.web.dpo_retention import dpo_retention
    from exchange.web.home import home
    from exchange.web.incoming_categories import incoming_categories
    from exchange.web.pickup_page import pickup_page
    from exchange.web.retention_settings_page import retention_settings_page
    from exchange.web.signed_form_pages import signed_form_pages
    from exchange.web.signin import signin
    from exchange.web.transfer_actions import transfer_actions
    from exchange.web.transfer_notices import transfer_notices
    from exchange.web.transfer_pages import transfer_pages
    from exchange.web.user_pages import user_pages

    blueprints = (
        signin, home, transfer_pages, transfer_actions, transfer_notices, destination_pages,
        document_viewer, dpo_pages, admin_pages, user_pages, api, dpo_records, dpo_retention,
        account_pages, batch_pages, pickup_page,
        signed_form_pages, incoming_categories, retention_settings_page,
    )  # fmt: skip
    for blueprint in blueprints:
        app.register_blueprint(blueprint)
    csrf.exempt(api)
    for name in ("school_api", "health"):
        if name in app.blueprints:
            csrf.exempt(app.blueprints[name])
