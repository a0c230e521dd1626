"""Record a transfer's state change (for the workflow only) and audit events about it."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from exchange.audit.service import record_event
from exchange.db import utcnow
from exchange.transfers.actors import Actor
from exchange.transfers.models import Transfer, TransferStep


def record_move(
    session: Session,
    transfer: Transfer,
    previous: str | None,
    target: str,
    actor: Actor,
    *,
    note: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Persist one state change, its step row and its one audit event (the workflow calls it)."""
    transfer.state = target
    transfer.updated_at = utcnow()
    session.add(
        TransferStep(
            school_id=transfer.school_id,
            transfer_id=transfer.id,
            from_state=previous,
            to_state=target,
            user_id=actor.user_id,
            note=note,
        )
    )
    audit(session, transfer, actor, f"transfer.{target}", {"from": previous, **(details or {})})


def audit(
    session: Session,
    transfer: Transfer,
    actor: Actor,
    event: str,
    details: dict[str, Any] | None = None,
) -> None:
    """Record an event about a transfer in the school's audit log (ids only)."""
    record_event(
        session,
        transfer.school_id,
        actor.user_id,
        actor.role,
        event,
        "transfer",
        transfer.transfer_uid,
        actor.request_id,
        {"direction": transfer.direction, **(details or {})},
    )
