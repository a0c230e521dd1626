"""Refusals that matter (authorise, withdraw, holds) go into the audit log, after the rollback.

The refused action changed nothing: its transaction is rolled back. The web, the CLI and the
API then call `record_refusal` with the error, in a fresh transaction, so the attempt is kept.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from exchange.audit.entry import MAX_DETAIL_STRING
from exchange.audit.service import record_event


def refusal_event(
    school_id: int,
    user_id: int | None,
    role: str,
    event: str,
    object_type: str,
    object_id: str,
    request_id: str | None,
    reason: str,
) -> dict[str, Any]:
    """Return the audit event a refusal carries until its caller records it."""
    return {
        "school_id": school_id,
        "user_id": user_id,
        "role": role,
        "event": event,
        "object_type": object_type,
        "object_id": object_id,
        "request_id": request_id,
        "details": {"reason": reason[:MAX_DETAIL_STRING]},
    }


def record_refusal(session: Session, error: Exception) -> bool:
    """Audit a refusal that carries an event; return whether it did."""
    event = getattr(error, "audit", None)
    if not event:
        return False
    record_event(
        session,
        event["school_id"],
        event["user_id"],
        event["role"],
        event["event"],
        event["object_type"],
        event["object_id"],
        event["request_id"],
        event["details"],
    )
    return True
