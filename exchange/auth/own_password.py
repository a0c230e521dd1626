"""A signed-in user changes their own password: the current one, a new one and a fresh code."""

from __future__ import annotations

from sqlalchemy.orm import Session

from exchange.auth import totp
from exchange.auth.credentials import set_password
from exchange.auth.passwords import check_strength, verify_password
from exchange.auth.signin import is_locked, record_second_factor_failure
from exchange.errors import ValidationError
from exchange.records.models import User

LOCKED = "Too many attempts. Wait 15 minutes and try again"


def change_own_password(
    session: Session,
    user: User,
    instance_key: bytes,
    *,
    current: str,
    new: str,
    repeated: str,
    code: str,
) -> None:
    """Check the current password and a fresh TOTP code, then keep the new password.

    Every session the user has open ends (set_password does it); the page starts a new one for
    the browser that made the change. A wrong password or code counts towards the lock-out, as
    at sign-in.
    """
    if is_locked(session, user):
        raise ValidationError(LOCKED, where="current_password")
    if not verify_password(user.password_hash, current):
        locked = record_second_factor_failure(session, user)
        raise ValidationError(
            LOCKED if locked else "Enter your current password", where="current_password"
        )
    if new != repeated:
        raise ValidationError("Enter the same new password twice", where="confirm_password")
    try:
        check_strength(new)
    except ValidationError as exc:
        raise ValidationError(exc.message, where="new_password") from exc
    if new == current:
        raise ValidationError(
            "Choose a new password that is not your current one", where="new_password"
        )
    if not totp.is_enrolled(session, user):
        raise ValidationError(
            "Set up a second factor first: sign out and sign in again", where="code"
        )
    if not totp.check_code(session, user, instance_key, code):
        locked = record_second_factor_failure(session, user)
        raise ValidationError(
            LOCKED if locked else "Enter the 6-digit code from your authenticator app",
            where="code",
        )
    set_password(session, user, new)
