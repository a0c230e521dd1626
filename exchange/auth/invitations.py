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

VALID_HOURS = 24


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invite(session: Session, user: User, created_by: User | None, hours: int = VALID_HOURS) -> str:
    """Create an invitation for the user, ending older ones; return the secret for the link."""
    revoke_invitations(session, user)
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
    """Return the unused, unexpired, unrevoked invitation of an active user, or None."""
    row = session.scalar(select(Invitation).where(Invitation.token_hash == _hash(token)))
    if row is None or row.used_at is not None or row.revoked_at is not None:
        return None
    user = session.get(User, row.user_id)
    if row.expires_at < utcnow() or user is None or not user.is_active:
        return None
    return row


def revoke_invitations(session: Session, user: User) -> None:
    """Make every unused invitation link of the user useless."""
    rows = session.scalars(
        select(Invitation).where(
            Invitation.user_id == user.id,
            Invitation.used_at.is_(None),
            Invitation.revoked_at.is_(None),
        )
    )
    for row in rows:
        row.revoked_at = utcnow()


def accept_invitation(session: Session, token: str, password: str) -> User:
    """Set the invited user's password and spend the invitation."""
    row = open_invitation(session, token)
    if row is None:
        raise ValidationError("This invitation link has expired or has already been used")
    user = session.get(User, row.user_id)
    set_password(session, user, password)
    row.used_at = utcnow()
    return user
