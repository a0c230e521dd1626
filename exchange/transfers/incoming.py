"""The receiving school's steps: offers in, acceptance or rejection, countersignatures in."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from exchange.errors import ValidationError
from exchange.instance import Instance
from exchange.packaging.keys import load_signing_key
from exchange.receipts.receipt import sha256_text
from exchange.records.models import Pupil, School
from exchange.records.upn import validate_upn
from exchange.transfers import states
from exchange.transfers.actors import SYSTEM_ACTOR, Actor
from exchange.transfers.clock import deadline_for
from exchange.transfers.messages import OFFER_RESPONSE, Message, MessageRefused, sign_message
from exchange.transfers.models import INCOMING, OUTGOING, Transfer
from exchange.transfers.steps import audit, move


def find_transfer(
    session: Session, school_id: int, transfer_uid: str, direction: str
) -> Transfer | None:
    """Return this school's side of a transfer by its shared id."""
    return session.scalar(
        select(Transfer).where(
            Transfer.school_id == school_id,
            Transfer.transfer_uid == transfer_uid,
            Transfer.direction == direction,
        )
    )


def receive_offer(session: Session, school: School, message: Message) -> Transfer:
    """Record an offer from a confirmed partner for a DSL to accept or reject."""
    body = message.payload
    transfer_uid = _text(body, "transfer_id")
    existing = find_transfer(session, school.id, transfer_uid, INCOMING)
    if existing is not None:
        raise MessageRefused("this transfer was already offered")
    sender, recipient, pupil = body.get("sender"), body.get("recipient"), body.get("pupil")
    if not all(isinstance(part, dict) for part in (sender, recipient, pupil)):
        raise MessageRefused("the offer lacks sender, recipient or pupil")
    if sender.get("urn") != message.partner.urn or recipient.get("urn") != school.urn:
        raise MessageRefused("the offer's schools do not match its signature and address")
    try:
        upn = validate_upn(str(pupil.get("upn", "")))
        dob = _date(pupil.get("date_of_birth"))
        leaving = _date(body.get("leaving_date"))
        expires = datetime.fromisoformat(_text(body, "expires_at"))
    except (ValidationError, ValueError) as exc:
        raise MessageRefused(f"the offer is malformed: {exc}") from exc
    on_roll = session.scalar(select(Pupil).where(Pupil.school_id == school.id, Pupil.upn == upn))
    transfer = Transfer(
        school_id=school.id,
        transfer_uid=transfer_uid,
        direction=INCOMING,
        state=states.OFFERED,
        partner_id=message.partner.id,
        pupil_id=on_roll.id if on_roll else None,
        pupil_upn=upn,
        pupil_dob=dob,
        leaving_date=leaving,
        deadline=deadline_for(school, leaving, date.today()),
        offer_jws=message.token,
        offer_sha256=sha256_text(message.token),
        offer_expires_at=expires,
    )
    session.add(transfer)
    session.flush()
    audit(session, transfer, SYSTEM_ACTOR, "transfer.offer_received", {"from": message.partner.urn})
    return transfer


def respond_to_offer(
    session: Session,
    instance: Instance,
    transfer: Transfer,
    actor: Actor,
    *,
    accept: bool,
    reason: str = "",
    on_roll_confirmed: bool = False,
) -> str:
    """Accept (the child is or will be on roll) or reject with a reason; return the signed reply."""
    if transfer.direction != INCOMING:
        raise states.TransitionRefused("only the receiving school answers an offer")
    if accept and not on_roll_confirmed:
        raise ValidationError("confirm that the child is, or will be, on your roll")
    if not accept and not reason.strip():
        raise ValidationError("give a reason for rejecting the offer")
    if transfer.offer_expires_at and transfer.offer_expires_at < _now():
        move(session, transfer, states.EXPIRED, SYSTEM_ACTOR)
        raise ValidationError("this offer has expired")
    move(session, transfer, states.ACCEPTED if accept else states.REJECTED, actor)
    school = session.get(School, transfer.school_id)
    body = {
        "transfer_id": transfer.transfer_uid,
        "offer_sha256": transfer.offer_sha256,
        "decision": "accept" if accept else "reject",
        "reason": reason.strip() or None,
    }
    key = load_signing_key(session, school.id, instance.instance_key)
    token = sign_message(body, key, OFFER_RESPONSE, school.urn, transfer.partner.urn)
    transfer.response_jws = token
    transfer.reject_reason = None if accept else reason.strip()
    transfer.on_roll_confirmed_by_user_id = actor.user_id if accept else None
    return token


def receive_offer_response(session: Session, school: School, message: Message) -> Transfer:
    """Apply the receiving school's signed acceptance or rejection to our outgoing transfer."""
    body = message.payload
    transfer = find_transfer(session, school.id, _text(body, "transfer_id"), OUTGOING)
    if transfer is None or transfer.partner_id != message.partner.id:
        raise MessageRefused("no transfer with this id was offered to the sending school")
    if body.get("offer_sha256") != transfer.offer_sha256:
        raise MessageRefused("the response does not quote our offer")
    decision = body.get("decision")
    if decision not in ("accept", "reject"):
        raise MessageRefused("the decision must be accept or reject")
    transfer.response_jws = message.token
    if decision == "reject":
        transfer.reject_reason = str(body.get("reason") or "no reason given")[:2000]
    move(
        session,
        transfer,
        states.ACCEPTED if decision == "accept" else states.REJECTED,
        SYSTEM_ACTOR,
    )
    return transfer


def expire_offers(session: Session, school_id: int, now: datetime | None = None) -> int:
    """Expire offers past their validity, on either side; return how many."""
    now = now or _now()
    expired = session.scalars(
        select(Transfer).where(
            Transfer.school_id == school_id,
            Transfer.state == states.OFFERED,
            Transfer.offer_expires_at < now,
        )
    ).all()
    for transfer in expired:
        move(session, transfer, states.EXPIRED, SYSTEM_ACTOR)
    return len(expired)


def _now() -> datetime:
    from exchange.db import utcnow

    return utcnow()


def _text(body: dict[str, object], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value or len(value) > 200:
        raise MessageRefused(f"the message's {key} is missing or malformed")
    return value


def _date(value: object) -> date | None:
    if value is None:
        return None
    return date.fromisoformat(str(value))


def receive_countersignature(session: Session, school: School, message: Message) -> Transfer:
    """Keep the sender's countersignature of our receipt; the transfer is then closed."""
    body = message.payload
    transfer = find_transfer(session, school.id, _text(body, "transfer_id"), INCOMING)
    if transfer is None or transfer.partner_id != message.partner.id:
        raise MessageRefused("no transfer with this id was received from the sending school")
    if transfer.receipt_jws is None or body.get("receipt") != transfer.receipt_jws:
        raise MessageRefused("the countersignature does not quote our receipt")
    if (
        body.get("receipt_sha256") != sha256_text(transfer.receipt_jws)
        or body.get("verified") is not True
    ):
        raise MessageRefused("the countersignature's receipt hash or verdict is wrong")
    if transfer.state == states.CLOSED:
        return transfer
    transfer.countersignature_jws = message.token
    transfer.receipt_verified_at = _now()
    move(session, transfer, states.CLOSED, SYSTEM_ACTOR)
    return transfer
