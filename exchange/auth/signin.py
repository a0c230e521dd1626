"""Check a password sign-in, counting failures and locking the account after too many."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from exchange.auth.passwords import verify_password
from exchange.auth.security import security_of
from exchange.db import utcnow
from exchange.records.models import User

MAX_FAILURES = 5
LOCK_MINUTES = 15


@dataclass(frozen=True)
class SignInResult:
    """The outcome of a password check: the user, or why not (one message for all failures)."""

    user: User | None
    locked: bool = False


def check_password_sign_in(session: Session, email: str, password: str) -> SignInResult:
    """Return the active user whose email and password match; count and lock on failure."""
    email = email.strip().lower()
    users = list(session.scalars(select(User).where(User.email == email, User.is_active.is_(True))))
    if not users:
        verify_password(None, password)  # Spend the same time as a real check.
        return SignInResult(None)
    now = utcnow()
    for user in users:
        state = security_of(session, user)
        if state.locked_until is not None and state.locked_until > now:
            continue
        if verify_password(user.password_hash, password):
            state.failed_logins = 0
            state.locked_until = None
            return SignInResult(user)
    locked = False
    for user in users:
        state = security_of(session, user)
        if state.locked_until is not None and state.locked_until > now:
            locked = True
            continue
        state.failed_logins += 1
        if state.failed_logins >= MAX_FAILURES:
            state.locked_until = now + timedelta(minutes=LOCK_MINUTES)
            state.failed_logins = 0
            locked = True
    return SignInResult(None, locked=locked)


def record_second_factor_failure(session: Session, user: User) -> bool:
    """Count a wrong second-factor code; return whether the account is now locked."""
    state = security_of(session, user)
    state.failed_logins += 1
    if state.failed_logins >= MAX_FAILURES:
        state.locked_until = utcnow() + timedelta(minutes=LOCK_MINUTES)
        state.failed_logins = 0
        return True
    return False


def is_locked(session: Session, user: User) -> bool:
    """Return whether the user is locked out now."""
    state = security_of(session, user)
    return state.locked_until is not None and state.locked_until > utcnow()
