"""Follow-ups: a later transfer of a child to the same school sends only what is new or changed."""

from __future__ import annotations

import hashlib
import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from exchange.records.models import Incident, VaultDocument
from exchange.transfers import states
from exchange.transfers.models import Transfer, TransferItem

DELIVERED = (states.DELIVERED, states.RECEIPTED, states.CLOSED)


def incident_fingerprint(incident: Incident) -> str:
    """Return the SHA-256 of what a transfer sends of an incident (text, actions, categories)."""
    body = {
        "narrative": incident.narrative,
        "status": incident.status,
        "categories": sorted(category.path for category in incident.categories),
        "actions": [[action.acted_at.isoformat(), action.text] for action in incident.actions],
        "edits": len(incident.edits),
    }
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def previous_delivery(session: Session, transfer: Transfer) -> Transfer | None:
    """Return the latest earlier transfer of this child that reached the same school."""
    if transfer.pupil_id is None:
        return None
    return session.scalar(
        select(Transfer)
        .where(
            Transfer.school_id == transfer.school_id,
            Transfer.direction == transfer.direction,
            Transfer.pupil_id == transfer.pupil_id,
            Transfer.partner_id == transfer.partner_id,
            Transfer.state.in_(DELIVERED),
            Transfer.id != transfer.id,
        )
        .order_by(Transfer.authorised_at.desc(), Transfer.id.desc())
    )


def sent_before(session: Session, transfer: Transfer) -> dict[tuple[str, int], str]:
    """Return (kind, record id) -> fingerprint of everything earlier deliveries sent."""
    earlier = session.scalars(
        select(Transfer.id).where(
            Transfer.school_id == transfer.school_id,
            Transfer.pupil_id == transfer.pupil_id,
            Transfer.partner_id == transfer.partner_id,
            Transfer.state.in_(DELIVERED),
            Transfer.id != transfer.id,
        )
    ).all()
    if not earlier:
        return {}
    rows = session.execute(
        select(TransferItem.kind, TransferItem.object_id, TransferItem.sent_sha256)
        .where(
            TransferItem.transfer_id.in_(earlier),
            TransferItem.included.is_(True),
            TransferItem.sent_sha256.is_not(None),
        )
        .order_by(TransferItem.id)
    ).all()
    return {(kind, object_id): sha for kind, object_id, sha in rows}


def fingerprint_of(session: Session, kind: str, object_id: int) -> str | None:
    """Return the current fingerprint of a record, or None if it no longer exists."""
    if kind == "incident":
        incident = session.get(Incident, object_id)
        return incident_fingerprint(incident) if incident is not None else None
    document = session.get(VaultDocument, object_id)
    return document.sha256 if document is not None else None


def record_sent(session: Session, transfer: Transfer) -> None:
    """Fingerprint every included record at authorisation, for later follow-ups."""
    for item in transfer.items:
        if item.included:
            item.sent_sha256 = fingerprint_of(session, item.kind, item.object_id)


def leave_out_unchanged(session: Session, transfer: Transfer) -> int:
    """Leave out of a follow-up what an earlier delivery sent unchanged; return how many."""
    previous = previous_delivery(session, transfer)
    if previous is None:
        return 0
    sent = sent_before(session, transfer)
    when = previous.authorised_at.date().isoformat() if previous.authorised_at else "earlier"
    left_out = 0
    for item in transfer.items:
        key = (item.kind, item.object_id)
        if item.included and key in sent and sent[key] == fingerprint_of(session, *key):
            item.included = False
            item.reason = (
                f"Sent unchanged in transfer {previous.transfer_uid[:8]} ({when}): a follow-up "
                "sends only what is new or changed"
            )
            left_out += 1
    return left_out


def change_of(
    session: Session, sent: dict[tuple[str, int], str], kind: str, object_id: int
) -> str | None:
    """Return "edited" or "resent" for a record sent before (changed or not since), else None."""
    if (kind, object_id) not in sent:
        return None
    return (
        "resent"
        if sent[(kind, object_id)] == fingerprint_of(session, kind, object_id)
        else "edited"
    )
