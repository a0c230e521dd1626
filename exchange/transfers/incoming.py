"""The receiving school's actions: an offer recorded, accepted or rejected.

Each function here is the body of one workflow action (`exchange.transfers.workflow`).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from exchange.errors import ValidationError
from exchange.packaging.keys import load_signing_key
from exchange.receipts.receipt import sha256_text
from exchange.records.models import Pupil
from exchange.records.sealed_reads import upn_is
from exchange.records.upn import validate_upn
from exchange.transfers import states
from exchange.transfers.batch_offers import join_incoming_batch
from exchange.transfers.clock import deadline_for
from exchange.transfers.messages import OFFER_RESPONSE, Message, MessageRefused, sign_message
from exchange.transfers.models import INCOMING, Transfer
from exchange.transfers.notices import DESTRUCTION, destroy_imported, sign_notice
from exchange.transfers.offered_name import parse_name
from exchange.transfers.workflow_types import Step


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


def receive_offer(step: Step) -> Transfer:
    """Record an offer from a confirmed partner for a DSL to accept or reject."""
    session, school = step.session, step.school
    message: Message = step.inputs["message"]
    body = message.payload
    transfer_uid = message_text(body, "transfer_id")
    if find_transfer(session, school.id, transfer_uid, INCOMING) is not None:
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
        expires = datetime.fromisoformat(message_text(body, "expires_at"))
        name = parse_name(pupil.get("name"))  # Protocol 1.3, optional; strict when present.
    except (ValidationError, ValueError) as exc:
        raise MessageRefused(f"the offer is malformed: {exc}") from exc
    on_roll = session.scalar(
        select(Pupil).where(Pupil.school_id == school.id, upn_is(session, school.id, upn))
    )
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
        offered_name=name,
    )
    _link_follows(session, transfer, body.get("follows"))
    session.add(transfer)
    session.flush()
    transfer.batch_id = join_incoming_batch(session, transfer, body.get("batch"))
    step.transfer = transfer
    step.details["sender"] = message.partner.urn
    return transfer


def _link_follows(session: Session, transfer: Transfer, follows: object) -> None:
    """Link a re-offer to the earlier offer from the same school that it answers."""
    if not isinstance(follows, dict):
        return
    earlier = find_transfer(session, transfer.school_id, str(follows.get("transfer_id")), INCOMING)
    if earlier is None or earlier.partner_id != transfer.partner_id:
        return
    transfer.follows_uid = earlier.transfer_uid
    transfer.follows_answer = str(follows.get("answer") or "")[:2000] or None


def forget_offered_name(step: Step) -> None:
    """Destroy the name the offer carried: no longer needed (rejected, expired, withdrawn)."""
    transfer = step.need_transfer
    if transfer.offered_name is not None or transfer.offer_jws_sealed is not None:
        transfer.offered_name = None
        transfer.offer_jws_sealed = None  # The signed offer holds the name; its hash stays.
        step.details["offered_identity_destroyed"] = True


def expire(step: Step) -> None:
    """An unanswered offer lapses: the receiving school destroys the name it carried."""
    forget_offered_name(step)


def file_received(step: Step) -> None:
    """The file arrived and was imported: the child's record now holds the name."""
    step.details.update(step.inputs)
    step.need_transfer.offered_name = None  # The signed offer stays, sealed with the child's key.


def accept(step: Step) -> str:
    """Sign the acceptance: the child is, or will be, on this school's roll."""
    step.need_transfer.on_roll_confirmed_by_user_id = step.actor.user_id
    step.need_transfer.reject_reason = None
    return _sign_response(step, "accept", None)


def reject(step: Step) -> str:
    """Sign the rejection, with the DSL's reason."""
    reason = str(step.inputs.get("reason") or "").strip()
    step.need_transfer.reject_reason = reason
    step.need_transfer.on_roll_confirmed_by_user_id = None
    forget_offered_name(step)
    return _sign_response(step, "reject", reason)


def _sign_response(step: Step, decision: str, reason: str | None) -> str:
    transfer, school = step.need_transfer, step.school
    body = {
        "transfer_id": transfer.transfer_uid,
        "offer_sha256": transfer.offer_sha256,
        "decision": decision,
        "reason": reason or None,
    }
    key = load_signing_key(step.session, school.id, step.need_instance.instance_key)
    token = sign_message(body, key, OFFER_RESPONSE, school.urn, transfer.partner.urn)
    transfer.response_jws = token
    return token


def partner_answered(step: Step) -> None:
    """Keep the receiving school's signed answer to our offer."""
    transfer = step.need_transfer
    message: Message = step.inputs["message"]
    transfer.response_jws = message.token
    if message.payload.get("decision") == "reject":
        transfer.reject_reason = str(message.payload.get("reason") or "no reason given")[:2000]


def partner_withdrew(step: Step) -> None:
    """Keep the sender's signed withdrawal; the offer leaves the receiving DSL's queue."""
    _keep_partner_notice(step)
    forget_offered_name(step)


def partner_recalled(step: Step) -> None:
    """Keep the sender's signed recall; the receiving DSL is asked to confirm destruction."""
    _keep_partner_notice(step)
    forget_offered_name(step)


def partner_destroyed(step: Step) -> None:
    """Keep the receiving school's signed notice that it destroyed the recalled file."""
    _keep_partner_notice(step)
    counts = step.inputs["message"].payload.get("destroyed")
    if isinstance(counts, dict):
        step.details["destroyed"] = {
            str(k)[:30]: v for k, v in list(counts.items())[:20] if isinstance(v, int)
        }


def confirm_destruction(step: Step) -> None:
    """Destroy what the recalled transfer imported here and sign the destruction notice."""
    counts = destroy_imported(step.session, step)
    step.details["destroyed"] = counts
    step.note = str(step.inputs.get("note") or "").strip()[:500] or None
    sign_notice(step, DESTRUCTION, step.note, destroyed=counts)
    kept = step.details.get("merges", {}).get("kept_changed_here", 0)
    if kept:
        # Told to this school's DSL in the transfer's history (not to the sender: the notice's
        # counts are a fixed list); the audit event has the counts and the incident ids.
        told = (
            f"{kept} record(s) changed here after the recalled follow-up kept their current "
            "text: review them"
        )
        step.note = f"{step.note[: 498 - len(told)]}; {told}" if step.note else told


def _keep_partner_notice(step: Step) -> None:
    message: Message = step.inputs["message"]
    step.need_transfer.partner_notice_jws = message.token
    step.note = str(message.payload.get("reason") or "")[:500] or None


def message_text(body: dict[str, object], key: str) -> str:
    """Return a required short text field of a partner's message, or refuse the message."""
    value = body.get(key)
    if not isinstance(value, str) or not value or len(value) > 200:
        raise MessageRefused(f"the message's {key} is missing or malformed")
    return value


def _date(value: object) -> date | None:
    if value is None:
        return None
    return date.fromisoformat(str(value))
