"""Test users with a known authenticator secret, and the code the CLI accepts from them now."""

from __future__ import annotations

import pyotp
from sqlalchemy import select

from exchange.auth.credentials import set_demo_credentials
from exchange.auth.security import security_of
from exchange.db import transaction
from exchange.instance import Instance
from exchange.records.models import User

TOTP_SECRET = "KRUGKIDDN5SGKIDJOMQHI2DFEBVWK6JB"
PASSWORD = "correct horse battery staple"


def enrol(instance: Instance, email: str) -> int:
    """Give the active user with this email the known secret, enrolled; return their id."""
    with instance.sessions() as session:
        query = select(User.id).where(User.email == email, User.is_active.is_(True))
        user_id = session.scalars(query).one()
    enrol_user(instance, user_id)
    return user_id


def enrol_user(instance: Instance, user_id: int) -> None:
    """Give this user the known secret, enrolled."""
    with transaction(instance.sessions) as session:
        user = session.get(User, user_id)
        set_demo_credentials(session, user, PASSWORD, TOTP_SECRET, instance.instance_key)


def fresh_code(instance: Instance, user_id: int) -> str:
    """Forget the step this user last spent, as waiting for the next code would; return it now."""
    with transaction(instance.sessions) as session:
        security_of(session, session.get(User, user_id)).totp_last_step = None
    return pyotp.TOTP(TOTP_SECRET).now()


def acting(instance: Instance, email: str) -> list[str]:
    """Return the --as and --code arguments of a CLI step taken as this (enrolled) user."""
    with instance.sessions() as session:
        user_id = session.scalars(select(User.id).where(User.email == email)).one()
    return ["--as", email, "--code", fresh_code(instance, user_id)]
