"""Who is signed in, the request's school-scoped session, and the one permission check."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import abort, current_app, g, redirect, request, session, url_for
from sqlalchemy import select
from sqlalchemy.orm import Session

from exchange.audit.service import record_event
from exchange.auth.models import WebSession
from exchange.auth.permissions import can
from exchange.auth.sessions import (
    ABSOLUTE_HOURS,
    IDLE_SECONDS,
    SIGNED_OUT,
    end_session,
    find_session,
    touch,
    why_over,
)
from exchange.db import utcnow
from exchange.errors import ExchangeError
from exchange.instance import Instance
from exchange.records.models import School, SchoolScoped, User
from exchange.records.scoping import scope_session

FRESH_SECONDS_DEFAULT = 300
View = TypeVar("View", bound=Callable[..., Any])
Row = TypeVar("Row", bound=SchoolScoped)


def instance() -> Instance:
    """Return the instance this app serves."""
    return current_app.extensions["exchange"]


def db() -> Session:
    """Return the request's session, scoped to the signed-in user's school."""
    if "db" not in g:
        g.db = instance().sessions()
        g.web_session = _load_web_session(g.db)
        if g.web_session is not None:
            scope_session(g.db, g.web_session.school_id)
    return g.db


def _load_web_session(database: Session) -> WebSession | None:
    """Return the live server-side session the cookie names; end it if it has lapsed."""
    token = session.get("sid")
    if not isinstance(token, str):
        return None
    row = find_session(database, token)
    user = database.get(User, row.user_id) if row is not None else None
    reason = SIGNED_OUT if row is None else why_over(row, user, *_session_limits())
    if reason is not None:
        if row is not None:
            end_session(row, reason)
        session.clear()
        session["ended"] = reason
        return None
    touch(row)
    return row


def _session_limits() -> tuple[int, int]:
    config = current_app.config
    idle = int(config.get("SESSION_IDLE_SECONDS", IDLE_SECONDS))
    return idle, int(config.get("SESSION_HOURS", ABSOLUTE_HOURS)) * 3600


def web_session() -> WebSession | None:
    """Return the signed-in browser's server-side session, or None."""
    db()
    return g.web_session


def current_user() -> User | None:
    """Return the signed-in, active user, or None."""
    if "user" not in g:
        row = web_session()
        g.user = None if row is None else db().get(User, row.user_id)
    return g.user


def current_school() -> School:
    """Return the signed-in user's school."""
    user = current_user()
    assert user is not None
    return db().get(School, user.school_id)


def requires(permission: str) -> Callable[[View], View]:
    """Let a view run only for a signed-in user whose role holds the permission."""

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            user = current_user()
            if user is None:
                if request.path.startswith("/api/"):
                    abort(401)
                return redirect(url_for("signin.login", next=request.full_path.rstrip("?")))
            if not can(user.role, permission):
                abort(403)
            return view(*args, **kwargs)

        wrapped.permission = permission  # type: ignore[attr-defined]
        return wrapped  # type: ignore[return-value]

    return decorate


def has_fresh_second_factor() -> bool:
    """Return whether the user confirmed their second factor within the last few minutes."""
    row = web_session()
    window = int(current_app.config.get("FRESH_SECOND_FACTOR_SECONDS", FRESH_SECONDS_DEFAULT))
    if row is None or row.second_factor_at is None:
        return False
    return utcnow() - row.second_factor_at <= timedelta(seconds=window)


def requires_fresh_second_factor(view: View) -> View:
    """Send the user to confirm their second factor before a sensitive action's form."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not has_fresh_second_factor():
            target = request.path if request.method == "GET" else request.referrer or request.path
            return redirect(url_for("signin.confirm", next=safe_next(target)))
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


def safe_next(target: str | None, default: str = "/") -> str:
    """Return a local path to go back to, never another site."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.netloc and parts.netloc != request.host:
        return default
    path = parts.path
    if not path.startswith("/") or path.startswith("//") or "\\" in target:
        return default
    return path + (f"?{parts.query}" if parts.query else "")


def own(model: type[Row], object_id: int) -> Row:
    """Return the school's row with this id, or answer 404 as if it did not exist."""
    user = current_user()
    assert user is not None
    row = db().scalar(
        select(model).where(model.id == object_id, model.school_id == user.school_id)  # type: ignore[attr-defined]
    )
    if row is None:
        abort(404)
    return row


def audit_view(event: str, object_type: str, object_id: int | str, **details: Any) -> None:
    """Record that the signed-in user viewed a child's record (ids only)."""
    user = current_user()
    assert user is not None
    record_event(
        db(),
        user.school_id,
        user.id,
        user.role,
        event,
        object_type,
        str(object_id),
        g.get("request_id"),
        details,
    )


def attempt(step: Callable[[], Any]) -> str | None:
    """Run a service step; on a refusal roll back, audit it where it matters, return its words."""
    from exchange.outbox.service import forget_pending
    from exchange.transfers.workflow import record_refusal

    try:
        step()
    except ExchangeError as exc:
        session = db()
        session.rollback()
        forget_pending(session)
        if record_refusal(session, exc):
            session.commit()
        return exc.message
    return None
