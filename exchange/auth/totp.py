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


def check_code(session: Session, user: User, instance_key: bytes, code: str) -> bool:
    """Return whether a TOTP code is right and unused; remember its step so it is not reused."""
    secret = load_secret(user, instance_key)
    if secret is None:
        return False
    step = matching_step(secret, code)
    state = security_of(session, user)
    if step is None or (state.totp_last_step is not None and step <= state.totp_last_step):
        return False
    state.totp_last_step = step
    return True


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
