"""Signed notices between schools after an offer: withdrawal, recall, destruction, acknowledged.

A notice is a message of type `sgx-notice+jws` (protocol 1.1, docs/protocol.md) whose body is
{transfer_id, offer_sha256, notice, reason}. The sender of the offer sends "withdrawal" (before
delivery) and "recall" (after it); the receiving school answers a recall with "destruction"
once its DSL has confirmed and the service has destroyed what it imported, and sends
"acknowledged" (protocol 1.2) when its DSL records the file as read and acted on.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from exchange.packaging.keys import load_signing_key
from exchange.records.models import Incident, Pupil, VaultDocument
from exchange.retention.destroy import (
    Tally,
    destroy_documents,
    destroy_incidents,
    finish_pupils,
    pupil_refs,
)
from exchange.retention.due import DOCUMENT, INCIDENT, DueRecord
from exchange.retention.refs import school_secret
from exchange.transfers.import_bundle import undo_merges
from exchange.transfers.messages import NOTICE, sign_message
from exchange.transfers.models import INCOMING, Transfer
from exchange.transfers.workflow_types import Step

WITHDRAWAL = "withdrawal"
RECALL = "recall"
DESTRUCTION = "destruction"
ACKNOWLEDGED = "acknowledged"
SENDER_NOTICES = frozenset({WITHDRAWAL, RECALL})
NOTICES = SENDER_NOTICES | {DESTRUCTION, ACKNOWLEDGED}
MAX_REASON = 500


def sign_notice(step: Step, notice: str, reason: str | None, **extra: Any) -> str:
    """Sign a notice about this transfer to the partner and keep it on the transfer."""
    transfer, school = step.need_transfer, step.school
    body = {
        "transfer_id": transfer.transfer_uid,
        "offer_sha256": transfer.offer_sha256,
        "notice": notice,
        "reason": (reason or "")[:MAX_REASON] or None,
        **extra,
    }
    key = load_signing_key(step.session, school.id, step.need_instance.instance_key)
    token = sign_message(body, key, NOTICE, school.urn, transfer.partner.urn)
    transfer.notice_jws = token
    return token


def offer_was_sent(transfer: Transfer) -> bool:
    """Return whether the partner holds an offer of this transfer (online, offer signed)."""
    if transfer.route != "online":
        return False
    # A receiver destroys its copy of an offer that names the child on a recall (it keeps the
    # SHA-256): the school that sent the offer still holds it, and awaits the destruction notice.
    return transfer.direction == INCOMING or transfer.offer_jws is not None


def destroy_imported(session: Session, step: Step) -> dict[str, int]:
    """Destroy the records this incoming transfer imported, undo its merges; return the counts.

    The merges of a follow-up into records received before are undone first (undo_merges):
    its actions and its own edit rows count with the ones destroyed; what it set back or kept
    is in step.details["merges"], for the audit log and the receiving DSL.
    """
    transfer, instance = step.need_transfer, step.need_instance
    undone = undo_merges(session, instance.blobs, transfer)
    source = f"transfer:{transfer.partner.urn}"
    prefix = f"{transfer.transfer_uid}/"
    incidents = session.execute(
        select(Incident.id, Incident.pupil_id).where(
            Incident.school_id == transfer.school_id,
            Incident.source_system == source,
            Incident.source_id.startswith(prefix, autoescape=True),
        )
    ).all()
    documents = session.execute(
        select(VaultDocument.id, VaultDocument.pupil_id, VaultDocument.media_type).where(
            VaultDocument.school_id == transfer.school_id,
            VaultDocument.source_system == source,
            VaultDocument.source_id.startswith(prefix, autoescape=True),
        )
    ).all()
    touched = {row.pupil_id for row in incidents} | {row.pupil_id for row in documents}
    tally = Tally()
    refs = pupil_refs(session, school_secret(instance.instance_key, transfer.school_id), touched)
    rule = "recalled by the sending school"
    destroy_incidents(
        session,
        instance.blobs,
        [_record(INCIDENT, row.id, row.pupil_id, None, rule) for row in incidents],
        tally,
        refs,
    )
    destroy_documents(
        session,
        instance.blobs,
        [_record(DOCUMENT, row.id, row.pupil_id, row.media_type, rule) for row in documents],
        tally,
        refs,
    )
    created_here = set(
        session.scalars(
            select(Pupil.id).where(
                Pupil.id.in_(touched),
                Pupil.source_system == source,
                Pupil.source_id == transfer.transfer_uid,
            )
        )
    )
    finish_pupils(session, instance.blobs, transfer.school_id, created_here, tally, refs)
    transfer.conversation_summary = None
    transfer.conversation_participants = None
    tally.totals["actions"] += undone.actions
    tally.totals["edits"] += undone.edits
    if undone.edits or undone.actions:
        step.details["merges"] = undone.details()
    return {key: int(value) for key, value in tally.totals.items() if value}


def _record(kind: str, record_id: int, pupil_id: int, media: str | None, rule: str) -> DueRecord:
    from exchange.db import utcnow

    return DueRecord(kind, record_id, pupil_id, None, utcnow().date(), rule, (), media, False)


def partner_notice_reason(transfer: Transfer) -> str | None:
    """Return the reason the other school gave in its last signed notice (already verified)."""
    if not transfer.partner_notice_jws:
        return None
    from exchange.jws import parse

    try:
        payload = json.loads(parse(transfer.partner_notice_jws).payload)
    except ValueError:
        return None
    reason = payload.get("reason") if isinstance(payload, dict) else None
    return reason[:MAX_REASON] if isinstance(reason, str) and reason.strip() else None
