"""Who takes a step: a signed-in user of a school, or the system acting on a signed message."""

from __future__ import annotations

from dataclasses import dataclass

from exchange.auth.permissions import SYSTEM
from exchange.records.models import User


@dataclass(frozen=True)
class Actor:
    """The person (or the system) behind a step, as the audit log records it."""

    role: str
    user_id: int | None = None
    name: str = "the system"
    request_id: str | None = None
    school_id: int | None = None

    @classmethod
    def of(cls, user: User, request_id: str | None = None) -> Actor:
        """Return the actor for a signed-in user."""
        return cls(
            role=user.role,
            user_id=user.id,
            name=user.name,
            request_id=request_id,
            school_id=user.school_id,
        )


SYSTEM_ACTOR = Actor(role=SYSTEM)
# Whoever runs the CLI on the server, for steps no person of the school takes (as keys are).
OPERATOR_ACTOR = Actor(role="operator", name="the operator")
