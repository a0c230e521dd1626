"""Invitation links with which a new user sets their password, once, before expiry."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from exchange.auth.credentials import set_password
from exchange.auth.models import Invitation
from exchange.db import utcnow
from exchange.errors import ValidationError
from exchange.records.models import User

VALID_HOURS = 72


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invite(session: Session, user: User, created_by: User | None, hours: int = VALID_HOURS) -> str:
    """Create an invitation for the user; return the secret token for the link (shown once)."""
    token = secrets.token_urlsafe(32)
    session.add(
        Invitation(
            school_id=user.school_id,
            user_id=user.id,
            token_hash=_hash(token),
            created_by_user_id=created_by.id if created_by else None,
            expires_at=utcnow() + timedelta(hours=hours),
        )
    )
    session.flush()
    return token


def open_invitation(session: Session, token: str) -> Invitation | None:
    """Return the unused, unexpired invitation for a token, or None."""
    row = session.scalar(select(Invitation).where(Invitation.token_hash == _hash(token)))
    if row is None or row.used_at is not None or row.expires_at < utcnow():
        return None
    return row


def accept_invitation(session: Session, token: str, password: str) -> User:
    """Set the invited user's password and spend the invitation."""
    row = open_invitation(session, token)
    if row is None:
        raise ValidationError("This invitation link has expired or has already been used")
    user = session.get(User, row.user_id)
    set_password(session, user, password)
    row.used_at = utcnow()
    return user
