"""Server-side web sessions: started at sign-in, checked on every request, ended all at once."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from exchange.auth.models import WebSession
from exchange.db import utcnow
from exchange.records.models import User

IDLE_SECONDS = 30 * 60
ABSOLUTE_HOURS = 8
# A session's last-seen time is written at most this often, not on every request.
TOUCH_SECONDS = 30

SIGNED_OUT = "signed_out"
IDLE = "idle"
EXPIRED = "expired"
PASSWORD_CHANGED = "password_changed"  # noqa: S105  (a reason, not a password)
SECOND_FACTOR_RESET = "second_factor_reset"
DEACTIVATED = "deactivated"
ROLE_CHANGED = "role_changed"
SIGNED_OUT_EVERYWHERE = "signed_out_everywhere"
LOCKED_OUT = "locked"

# Why a session ended, in words for the sign-in page.
ENDED_BECAUSE = {
    SIGNED_OUT: "You have signed out.",
    IDLE: "You were signed out because you had not used the service for a while.",
    EXPIRED: "You were signed out because you had been signed in for the longest time allowed.",
    PASSWORD_CHANGED: "You were signed out because your password was changed.",
    SECOND_FACTOR_RESET: "You were signed out because your second factor was reset.",
    DEACTIVATED: "You were signed out because your account was deactivated.",
    ROLE_CHANGED: "You were signed out because your role was changed.",
    SIGNED_OUT_EVERYWHERE: "You were signed out by an administrator.",
    LOCKED_OUT: "You were signed out after too many wrong security codes.",
}


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(session: Session, user: User, *, second_factor: bool) -> str:
    """Record a new signed-in session for the user; return its secret id for the cookie."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        WebSession(
            school_id=user.school_id,
            user_id=user.id,
            token_hash=_hash(token),
            created_at=now,
            last_seen_at=now,
            second_factor_at=now if second_factor else None,
        )
    )
    session.flush()
    return token


def find_session(session: Session, token: str) -> WebSession | None:
    """Return the session row a cookie's id stands for, ended or not, or None."""
    return session.scalar(select(WebSession).where(WebSession.token_hash == _hash(token)))


def why_over(
    row: WebSession,
    user: User | None,
    idle_seconds: int,
    absolute_seconds: int,
    now: datetime | None = None,
) -> str | None:
    """Return why this session can no longer be used, or None while it is good."""
    now = now or utcnow()
    if row.ended_at is not None:
        return row.end_reason or SIGNED_OUT
    if user is None or not user.is_active:
        return DEACTIVATED
    if now - row.created_at > timedelta(seconds=absolute_seconds):
        return EXPIRED
    if now - row.last_seen_at > timedelta(seconds=idle_seconds):
        return IDLE
    return None


def touch(row: WebSession, now: datetime | None = None) -> None:
    """Note that the session was used now (at most every few seconds)."""
    now = now or utcnow()
    if now - row.last_seen_at > timedelta(seconds=TOUCH_SECONDS):
        row.last_seen_at = now


def end_session(row: WebSession, reason: str) -> None:
    """End one session, keeping the first reason it ended for."""
    if row.ended_at is None:
        row.ended_at, row.end_reason = utcnow(), reason


def end_user_sessions(session: Session, user_id: int, reason: str) -> int:
    """End every open session of a user at once; return how many were open."""
    result = session.execute(
        update(WebSession)
        .where(WebSession.user_id == user_id, WebSession.ended_at.is_(None))
        .values(ended_at=utcnow(), end_reason=reason)
        .execution_options(synchronize_session="fetch")
    )
    return result.rowcount or 0


def confirm_second_factor(row: WebSession) -> None:
    """Record that the session's user just proved their second factor."""
    row.second_factor_at = utcnow()


def open_sessions(session: Session, user_id: int) -> int:
    """Return how many sessions of the user are open (not ended; some may have lapsed)."""
    rows = session.scalars(
        select(WebSession.id).where(WebSession.user_id == user_id, WebSession.ended_at.is_(None))
    )
    return len(rows.all())
