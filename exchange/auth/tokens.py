"""Per-school API tokens: shown once, stored hashed, scoped, revocable."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from exchange.auth.models import ApiToken
from exchange.auth.permissions import API_SCOPES
from exchange.db import utcnow
from exchange.errors import ValidationError

TOKEN_PREFIX = "sgx"  # noqa: S105  (a public marker, not a secret)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_token(
    session: Session, school_id: int, name: str, scopes: list[str], created_by: int | None
) -> tuple[ApiToken, str]:
    """Create a token with the given scopes; return its row and the secret (shown once)."""
    unknown = sorted(set(scopes) - set(API_SCOPES))
    if unknown or not scopes:
        raise ValidationError(f"Choose scopes from {', '.join(API_SCOPES)}")
    if not name.strip():
        raise ValidationError("Enter a name for the token")
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    row = ApiToken(
        school_id=school_id,
        name=name.strip()[:200],
        prefix=prefix,
        token_hash=_hash(secret),
        scopes=sorted(set(scopes)),
        created_by_user_id=created_by,
    )
    session.add(row)
    session.flush()
    return row, f"{TOKEN_PREFIX}_{prefix}_{secret}"


def authenticate_token(session: Session, presented: str) -> ApiToken | None:
    """Return the live token row a bearer token stands for, or None."""
    parts = presented.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX:
        return None
    row = session.scalar(select(ApiToken).where(ApiToken.prefix == parts[1]))
    if row is None or row.revoked_at is not None:
        return None
    if not secrets.compare_digest(row.token_hash, _hash(parts[2])):
        return None
    row.last_used_at = utcnow()
    return row


def revoke_token(session: Session, school_id: int, token_id: int) -> ApiToken | None:
    """Revoke one of the school's tokens; return it, or None if there is no such token."""
    row = session.get(ApiToken, token_id)
    if row is None or row.school_id != school_id:
        return None
    row.revoked_at = row.revoked_at or utcnow()
    return row
