"""The TOTP second factor: secrets wrapped by the instance key, replay refused, QR as SVG."""

from __future__ import annotations

import hashlib
import io
import secrets
import time

import pyotp
import segno
from sqlalchemy import select
from sqlalchemy.orm import Session

from exchange.auth.models import RecoveryCode
from exchange.auth.security import security_of
from exchange.db import utcnow
from exchange.records.models import User
from exchange.vault.crypto import unwrap_key, wrap_key

ISSUER = "Safeguarding exchange"
STEP_SECONDS = 30
RECOVERY_CODES = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


def _context(user: User) -> bytes:
    return f"totp:{user.school_id}:{user.id}".encode()


def new_secret() -> str:
    """Return a new base32 TOTP secret."""
    return pyotp.random_base32()


def store_secret(user: User, secret: str, instance_key: bytes) -> None:
    """Keep the user's TOTP secret, wrapped by the instance key."""
    user.totp_secret_wrapped = wrap_key(instance_key, secret.encode(), _context(user))


def load_secret(user: User, instance_key: bytes) -> str | None:
    """Return the user's TOTP secret, or None when they have not enrolled."""
    if user.totp_secret_wrapped is None:
        return None
    return unwrap_key(instance_key, user.totp_secret_wrapped, _context(user)).decode()


def provisioning_uri(user: User, secret: str) -> str:
    """Return the otpauth:// address an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


def qr_svg(uri: str) -> str:
    """Return the QR code of an address as an inline SVG document."""
    buffer = io.BytesIO()
    segno.make(uri, error="m").save(buffer, kind="svg", scale=5, xmldecl=False, svgns=True)
    return buffer.getvalue().decode()


def matching_step(secret: str, code: str, now: float | None = None) -> int | None:
    """Return the time step the code belongs to (now, one before or after), or None."""
    code = code.strip().replace(" ", "")
    if not (code.isdigit() and len(code) == 6):
        return None
    moment = time.time() if now is None else now
    totp = pyotp.TOTP(secret)
    step = int(moment // STEP_SECONDS)
    for candidate in (step, step - 1, step + 1):
        if secrets.compare_digest(totp.at(candidate * STEP_SECONDS), code):
            return candidate
    return None


# Why a code did not confirm the person, in their words (the web and the CLI show these).
EMPTY = "Enter the 6-digit code from your authenticator app"
MALFORMED = "Enter the 6-digit code from your authenticator app: 6 digits, without letters"
WRONG = "That code is wrong: enter the 6-digit code your authenticator app shows now"
EXPIRED = "That code has expired: enter the 6-digit code your authenticator app shows now"
USED = (
    "That code has already been used: wait for the next 6-digit code (it changes every 30 seconds)"
)
NOT_ENROLLED = "Set up a second factor first: sign out and sign in again"
# How far back a code still reads as "expired" rather than "wrong" (5 minutes of steps).
EXPIRED_STEPS = 10


def _expired_step(secret: str, code: str, now: float | None = None) -> bool:
    """Return whether the code was this user's code a few minutes ago (not now)."""
    code = code.strip().replace(" ", "")
    step = int((time.time() if now is None else now) // STEP_SECONDS)
    totp = pyotp.TOTP(secret)
    return any(
        secrets.compare_digest(totp.at(old * STEP_SECONDS), code)
        for old in range(step - 2, step - EXPIRED_STEPS - 1, -1)
    )


def code_problem(session: Session, user: User, instance_key: bytes, code: str) -> str | None:
    """Return why a TOTP code does not confirm the user now, or None (and spend its step)."""
    secret = load_secret(user, instance_key)
    if secret is None:
        return NOT_ENROLLED
    bare = code.strip().replace(" ", "")
    if not bare:
        return EMPTY
    if not (bare.isdigit() and len(bare) == 6):
        return MALFORMED
    step = matching_step(secret, bare)
    state = security_of(session, user)
    if step is None:
        return EXPIRED if _expired_step(secret, bare) else WRONG
    if state.totp_last_step is not None and step <= state.totp_last_step:
        return USED
    state.totp_last_step = step
    return None


def check_code(session: Session, user: User, instance_key: bytes, code: str) -> bool:
    """Return whether a TOTP code is right and unused; remember its step so it is not reused."""
    return code_problem(session, user, instance_key, code) is None


def confirm_enrolment(
    session: Session, user: User, instance_key: bytes, secret: str, code: str
) -> list[str] | None:
    """Keep the secret if the code proves the app has it; return new recovery codes, or None."""
    step = matching_step(secret, code)
    if step is None:
        return None
    store_secret(user, secret, instance_key)
    state = security_of(session, user)
    state.totp_enrolled_at = utcnow()
    state.totp_last_step = step
    return new_recovery_codes(session, user)


def _hash_code(code: str) -> str:
    normalised = code.strip().lower().replace("-", "").replace(" ", "")
    return hashlib.sha256(normalised.encode()).hexdigest()


def new_recovery_codes(session: Session, user: User) -> list[str]:
    """Replace the user's recovery codes; return the new ones (shown once, stored hashed)."""
    for old in session.scalars(select(RecoveryCode).where(RecoveryCode.user_id == user.id)):
        session.delete(old)
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(12))
        codes.append(f"{raw[:4]}-{raw[4:8]}-{raw[8:]}")
    session.add_all(
        RecoveryCode(school_id=user.school_id, user_id=user.id, code_hash=_hash_code(code))
        for code in codes
    )
    session.flush()
    return codes


def use_recovery_code(session: Session, user: User, code: str) -> bool:
    """Spend one recovery code; return whether it was valid and unused."""
    row = session.scalar(
        select(RecoveryCode).where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == _hash_code(code),
            RecoveryCode.used_at.is_(None),
        )
    )
    if row is None:
        return False
    row.used_at = utcnow()
    return True


def is_enrolled(session: Session, user: User) -> bool:
    """Return whether the user has a confirmed second factor."""
    return (
        user.totp_secret_wrapped is not None
        and security_of(session, user).totp_enrolled_at is not None
    )
