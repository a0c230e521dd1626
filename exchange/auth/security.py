"""Load or create a user's sign-in state row."""

from __future__ import annotations

from sqlalchemy.orm import Session

from exchange.auth.models import UserSecurity
from exchange.records.models import User


def security_of(session: Session, user: User) -> UserSecurity:
    """Return the user's sign-in state, creating it on first use."""
    row = session.get(UserSecurity, user.id)
    if row is None:
        row = UserSecurity(user_id=user.id, school_id=user.school_id, failed_logins=0)
        session.add(row)
        session.flush()
    return row
