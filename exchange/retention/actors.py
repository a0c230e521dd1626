"""Who acts: a signed-in user of the school in a role, or the scheduled system actor."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy.orm import Session

from exchange.auth.permissions import SYSTEM, roles_for
from exchange.errors import NotFound
from exchange.records.models import User
from exchange.retention.errors import RetentionForbidden

SYSTEM_ROLE = SYSTEM
# Read from the one permission table: a DSL may place a hold; only a DPO releases it.
HOLD_PLACERS = tuple(sorted(roles_for("place_holds")))
HOLD_RELEASERS = tuple(sorted(roles_for("release_holds")))
RULE_SETTERS = tuple(sorted(roles_for("set_retention_rules")))


@dataclass(frozen=True)
class Actor:
    """The acting user id (None for the system) and role, as the audit log records them."""

    user_id: int | None
    role: str


SYSTEM = Actor(None, SYSTEM_ROLE)


def load_actor(
    session: Session, school_id: int, user_id: int, allowed_roles: Collection[str]
) -> Actor:
    """Return the active user of this school as an actor, refusing other roles."""
    user = session.get(User, user_id)
    if user is None or user.school_id != school_id or not user.is_active:
        raise NotFound(f"no active user {user_id} at this school")
    if user.role not in allowed_roles:
        raise RetentionForbidden(
            f"a {user.role} may not do this; it needs the role {' or '.join(allowed_roles)}"
        )
    return Actor(user.id, user.role)
