"""Set or reset a user's password and second factor: invitation page, admin, CLI and demo."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from exchange.auth.models import RecoveryCode
from exchange.auth.passwords import hash_password
from exchange.auth.security import security_of
from exchange.auth.sessions import PASSWORD_CHANGED, SECOND_FACTOR_RESET, end_user_sessions
from exchange.auth.totp import new_recovery_codes, store_secret
from exchange.db import utcnow
from exchange.records.models import User


def set_password(session: Session, user: User, password: str) -> None:
    """Hash and keep a new password for the user; end every session they have open."""
    user.password_hash = hash_password(password)
    state = security_of(session, user)
    state.password_set_at = utcnow()
    state.failed_logins = 0
    state.locked_until = None
    end_user_sessions(session, user.id, PASSWORD_CHANGED)


def reset_second_factor(session: Session, user: User) -> None:
    """Forget the user's authenticator and recovery codes; they enrol again at next sign-in."""
    user.totp_secret_wrapped = None
    state = security_of(session, user)
    state.totp_enrolled_at = None
    state.totp_last_step = None
    for code in session.scalars(select(RecoveryCode).where(RecoveryCode.user_id == user.id)):
        session.delete(code)
    end_user_sessions(session, user.id, SECOND_FACTOR_RESET)


def set_demo_credentials(
    session: Session, user: User, password: str, totp_secret: str, instance_key: bytes
) -> list[str]:
    """Give a demo user a known password and an enrolled TOTP secret; return recovery codes."""
    set_password(session, user, password)
    store_secret(user, totp_secret, instance_key)
    security_of(session, user).totp_enrolled_at = utcnow()
    return new_recovery_codes(session, user)
