"""Set a user's password and second factor: for the invitation page, the CLI and the demo."""

from __future__ import annotations

from sqlalchemy.orm import Session

from exchange.auth.passwords import hash_password
from exchange.auth.security import security_of
from exchange.auth.totp import new_recovery_codes, store_secret
from exchange.db import utcnow
from exchange.records.models import User


def set_password(session: Session, user: User, password: str) -> None:
    """Hash and keep a new password for the user."""
    user.password_hash = hash_password(password)
    state = security_of(session, user)
    state.password_set_at = utcnow()
    state.failed_logins = 0
    state.locked_until = None


def set_demo_credentials(
    session: Session, user: User, password: str, totp_secret: str, instance_key: bytes
) -> list[str]:
    """Give a demo user a known password and an enrolled TOTP secret; return recovery codes."""
    set_password(session, user, password)
    store_secret(user, totp_secret, instance_key)
    security_of(session, user).totp_enrolled_at = utcnow()
    return new_recovery_codes(session, user)
