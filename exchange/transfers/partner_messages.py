"""What a partner's signed message does here: each one becomes a workflow action."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from exchange.db import utcnow
from exchange.instance import Instance
from exchange.receipts.signing import check_countersignature
from exchange.records.models import School
from exchange.transfers import states, workflow
from exchange.transfers.actors import SYSTEM_ACTOR
from exchange.transfers.incoming import find_transfer, message_text
from exchange.transfers.messages import Message, MessageRefused
from exchange.transfers.models import INCOMING, OUTGOING, Transfer
from exchange.transfers.notices import (
    ACKNOWLEDGED,
    DESTRUCTION,
    NOTICES,
    RECALL,
    SENDER_NOTICES,
    WITHDRAWAL,
)


def offer_received(
    session: Session, instance: Instance, school: School, message: Message
) -> Transfer:
    """Record an offer from a confirmed partner for a DSL to accept or reject."""
    return workflow.start(session, instance, school, "receive_offer", SYSTEM_ACTOR, message=message)


def offer_answered(
    session: Session, instance: Instance, school: School, message: Message
) -> Transfer:
    """Apply the receiving school's signed acceptance or rejection to our outgoing transfer."""
    body = message.payload
    transfer = find_transfer(session, school.id, message_text(body, "transfer_id"), OUTGOING)
    if transfer is None or transfer.partner_id != message.partner.id:
        raise MessageRefused("no transfer with this id was offered to the sending school")
    if body.get("offer_sha256") != transfer.offer_sha256:
        raise MessageRefused("the response does not quote our offer")
    decision = body.get("decision")
    if decision not in ("accept", "reject"):
        raise MessageRefused("the decision must be accept or reject")
    action = "partner_accepted" if decision == "accept" else "partner_rejected"
    workflow.apply(session, instance, transfer, action, SYSTEM_ACTOR, message=message)
    return transfer


def notice_received(
    session: Session, instance: Instance, school: School, message: Message
) -> Transfer:
    """Apply a partner's signed notice (withdrawal, recall, destruction, acknowledged)."""
    body = message.payload
    notice = body.get("notice")
    if notice not in NOTICES:
        raise MessageRefused("the notice must be withdrawal, recall, destruction or acknowledged")
    direction = INCOMING if notice in SENDER_NOTICES else OUTGOING
    transfer = find_transfer(session, school.id, message_text(body, "transfer_id"), direction)
    if transfer is None or transfer.partner_id != message.partner.id:
        raise MessageRefused("no transfer with this id is shared with the sending school")
    if not transfer.offer_sha256 or body.get("offer_sha256") != transfer.offer_sha256:
        raise MessageRefused("the notice does not quote the offer")
    if not isinstance(body.get("reason"), str | None) or len(body.get("reason") or "") > 500:
        raise MessageRefused("the notice's reason must be text of at most 500 characters")
    action = {
        WITHDRAWAL: "partner_withdrew",
        RECALL: "partner_recalled",
        DESTRUCTION: "partner_destroyed",
        ACKNOWLEDGED: "partner_acknowledged",
    }[notice]
    workflow.apply(session, instance, transfer, action, SYSTEM_ACTOR, message=message)
    return transfer


def countersignature_received(
    session: Session, instance: Instance, school: School, message: Message
) -> Transfer:
    """Keep the sender's countersignature of our receipt; the transfer is then closed."""
    body = message.payload
    transfer = find_transfer(session, school.id, message_text(body, "transfer_id"), INCOMING)
    if transfer is None or transfer.partner_id != message.partner.id:
        raise MessageRefused("no transfer with this id was received from the sending school")
    check_countersignature(transfer, body)
    if transfer.state == states.CLOSED:
        return transfer
    transfer.countersignature_jws = message.token
    transfer.receipt_verified_at = utcnow()
    workflow.apply(session, instance, transfer, "close", SYSTEM_ACTOR)
    return transfer


def expire_offers(
    session: Session, instance: Instance | None, school_id: int, now: datetime | None = None
) -> int:
    """Expire offers past their validity, on either side; return how many."""
    expired = session.scalars(
        select(Transfer).where(
            Transfer.school_id == school_id,
            Transfer.state == states.OFFERED,
            Transfer.offer_expires_at < (now or utcnow()),
        )
    ).all()
    for transfer in expired:
        workflow.apply(session, instance, transfer, "expire", SYSTEM_ACTOR)
    return len(expired)
