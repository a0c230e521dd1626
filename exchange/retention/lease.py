"""A database lease with an expiry: at most one purge of a school at a time, across machines."""

from __future__ import annotations

import os
import socket
import uuid
from datetime import timedelta

from sqlalchemy import or_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from exchange.db import transaction, utcnow
from exchange.retention.models import PurgeLease

LEASE_SECONDS = 600


def lease_name(school_id: int) -> str:
    """Return the lease name of a school's purge."""
    return f"purge:{school_id}"


def new_owner() -> str:
    """Return a unique owner token naming this host and process."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def acquire(
    factory: sessionmaker[Session], name: str, owner: str, seconds: int = LEASE_SECONDS
) -> bool:
    """Take the lease if it is free or expired; return whether this owner now holds it."""
    try:
        with transaction(factory) as session:
            if session.get(PurgeLease, name) is None:
                session.add(PurgeLease(name=name, owner=None, expires_at=None))
    except IntegrityError:
        pass  # Another process created the row first; the update below decides.
    now = utcnow()
    with transaction(factory) as session:
        result = session.execute(
            update(PurgeLease)
            .where(
                PurgeLease.name == name,
                or_(PurgeLease.owner.is_(None), PurgeLease.expires_at < now),
            )
            .values(owner=owner, expires_at=now + timedelta(seconds=seconds))
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1


def renew(session: Session, name: str, owner: str, seconds: int = LEASE_SECONDS) -> bool:
    """Extend the lease in the caller's transaction; return False if another owner took it."""
    result = session.execute(
        update(PurgeLease)
        .where(PurgeLease.name == name, PurgeLease.owner == owner)
        .values(expires_at=utcnow() + timedelta(seconds=seconds))
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def release(factory: sessionmaker[Session], name: str, owner: str) -> None:
    """Give the lease up, if this owner still holds it."""
    with transaction(factory) as session:
        session.execute(
            update(PurgeLease)
            .where(PurgeLease.name == name, PurgeLease.owner == owner)
            .values(owner=None, expires_at=None)
            .execution_options(synchronize_session=False)
        )
