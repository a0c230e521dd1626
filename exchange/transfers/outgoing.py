"""The departing school's actions: draft, selection, review, offer, conversation, authorisation.

Each function here is the body of one workflow action (`exchange.transfers.workflow`): the
workflow has already checked who, when and what must hold, and moves the state after it.
"""

from __future__ import annotations

import re
import uuid
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from exchange.db import utcnow
from exchange.errors import ValidationError
from exchange.packaging.keys import load_signing_key
from exchange.partners.destinations import UNKNOWN
from exchange.partners.models import Partner
from exchange.policy.service import is_transferable
from exchange.records.models import Incident, Pupil, School, VaultDocument
from exchange.transfers import states
from exchange.transfers.clock import deadline_for
from exchange.transfers.follow_ups import leave_out_unchanged, record_sent
from exchange.transfers.messages import OFFER, sign_message
from exchange.transfers.models import OUTGOING, Transfer, TransferBatch, TransferItem
from exchange.transfers.notices import RECALL, WITHDRAWAL, offer_was_sent, sign_notice
from exchange.transfers.offer_expiry import offer_expires_at
from exchange.transfers.offered_name import name_for_offer
from exchange.transfers.redaction_step import redact_conversation, run_redaction
from exchange.transfers.settings import school_setting
from exchange.transfers.steps import audit
from exchange.transfers.workflow_types import Step

# Categories that mark a child with a CP plan, a child in need or a looked-after child.
FLAGGED_CATEGORY = re.compile(
    r"\b(child protection plan|child in need|cin|looked after|lac|cla)\b", re.IGNORECASE
)


def create(step: Step) -> Transfer:
    """Start a draft transfer of a pupil's file to a partner, with the policy's selection."""
    session, school = step.session, step.school
    pupil: Pupil = step.inputs["pupil"]
    partner: Partner = step.inputs["partner"]
    if pupil.school_id != school.id or partner.school_id != school.id:
        raise ValidationError("the pupil and the partner must belong to this school")
    leaving = step.inputs.get("leaving_date") or pupil.leaving_date
    transfer = Transfer(
        school_id=school.id,
        transfer_uid=str(uuid.uuid4()),
        direction=OUTGOING,
        state=states.DRAFT,
        route="offline" if partner.offline else "online",
        partner_id=partner.id,
        pupil_id=pupil.id,
        pupil_upn=pupil.upn,
        pupil_dob=pupil.date_of_birth,
        leaving_date=leaving,
        deadline=deadline_for(school, leaving, step.inputs.get("today") or date.today()),
        created_by_user_id=step.actor.user_id,
    )
    session.add(transfer)
    session.flush()
    _select_by_policy(session, transfer, pupil)
    left_out = leave_out_unchanged(session, transfer)
    if left_out:
        step.details["follow_up_left_out"] = left_out
    transfer.flagged_child = _is_flagged_child(session, pupil)
    step.transfer = transfer
    step.details["route"] = transfer.route
    return transfer


def _select_by_policy(session: Session, transfer: Transfer, pupil: Pupil) -> None:
    incidents = session.scalars(select(Incident).where(Incident.pupil_id == pupil.id)).all()
    chosen = set()
    for incident in incidents:
        included = is_transferable(incident)
        if included:
            chosen.add(incident.id)
        session.add(_item(transfer, "incident", incident.id, included))
    documents = session.scalars(
        select(VaultDocument).where(VaultDocument.pupil_id == pupil.id)
    ).all()
    for document in documents:
        included = document.incident_id is None or document.incident_id in chosen
        session.add(_item(transfer, "document", document.id, included))
    session.flush()
    session.refresh(transfer, ["items"])


def _item(transfer: Transfer, kind: str, object_id: int, included: bool) -> TransferItem:
    return TransferItem(
        school_id=transfer.school_id,
        transfer_id=transfer.id,
        kind=kind,
        object_id=object_id,
        included=included,
        by_policy=included,
    )


def _is_flagged_child(session: Session, pupil: Pupil) -> bool:
    """Return whether the child has a CP plan, is a child in need or looked after, by category."""
    incidents = session.scalars(select(Incident).where(Incident.pupil_id == pupil.id))
    return any(
        FLAGGED_CATEGORY.search(category.path)
        for incident in incidents
        for category in incident.categories
    )


def select_item(step: Step) -> TransferItem:
    """Add or drop one record; a departure from the policy needs a recorded reason."""
    transfer = step.need_transfer
    kind, object_id = step.inputs["kind"], step.inputs["object_id"]
    included, reason = bool(step.inputs["included"]), str(step.inputs.get("reason") or "")
    item = next((i for i in transfer.items if i.kind == kind and i.object_id == object_id), None)
    if item is None:
        raise ValidationError(f"no {kind} {object_id} belongs to this child's file")
    if included != item.by_policy and not reason.strip():
        raise ValidationError(
            "say why this item departs from the transfer policy (necessary and proportionate)"
        )
    item.included = included
    item.reason = reason.strip() or None
    audit(
        step.session,
        transfer,
        step.actor,
        "transfer.item_changed",
        {"kind": kind, "id": object_id, "included": included},
    )
    return item


def start_review(step: Step) -> None:
    """Queue the redaction of everything selected, for the DSL's review (texts too, unless a
    batch asks for them now with `redact_texts_now`)."""
    run_redaction(
        step.session,
        step.need_instance,
        step.need_transfer,
        step.actor,
        texts_now=step.inputs.get("redact_texts_now") is True,
    )


def make_offer(step: Step) -> str:
    """Sign the offer (the minimum: ids, UPN, date of birth, the child's name, leaving date)."""
    session, school, transfer = step.session, step.school, step.need_transfer
    partner = transfer.partner
    expires = offer_expires_at(school, utcnow())
    body = {
        "transfer_id": transfer.transfer_uid,
        "sender": {"urn": school.urn, "laestab": school.laestab, "name": school.name},
        "recipient": {"urn": partner.urn, "laestab": partner.laestab},
        "pupil": {
            "upn": transfer.pupil_upn,
            "date_of_birth": transfer.pupil_dob.isoformat() if transfer.pupil_dob else None,
        },
        "leaving_date": transfer.leaving_date.isoformat() if transfer.leaving_date else None,
        "expires_at": expires.isoformat(),
    }
    name = name_for_offer(transfer.pupil) if school_setting(school, "offer_includes_name") else None
    if name is not None:  # Protocol 1.3: the receiving DSL confirms who the child is.
        body["pupil"]["name"] = name
    if transfer.follows_uid:  # Protocol 1.1: a re-offer names the offer it follows.
        body["follows"] = {"transfer_id": transfer.follows_uid, "answer": transfer.follows_answer}
    if transfer.batch_id is not None:  # Protocol 1.1: offers made together name their batch.
        batch = session.get(TransferBatch, transfer.batch_id)
        body["batch"] = {"id": batch.batch_uid if batch is not None else None}
    key = load_signing_key(session, school.id, step.need_instance.instance_key)
    token = sign_message(body, key, OFFER, school.urn, partner.urn)
    from exchange.receipts.receipt import sha256_text

    transfer.offer_jws = token
    transfer.offer_sha256 = sha256_text(token)
    transfer.offer_expires_at = expires
    return token


def record_conversation(step: Step) -> None:
    """Record the DSL-to-DSL conversation; its summary is redacted and travels in the bundle."""
    transfer = step.need_transfer
    held_on: date = step.inputs["held_on"]
    participants = str(step.inputs.get("participants") or "")
    summary = str(step.inputs.get("summary") or "")
    if not summary.strip() or not participants.strip():
        raise ValidationError("record who took part and a summary of the child's needs")
    problem = conversation_date_problem(transfer, held_on)
    if problem is not None:
        raise ValidationError(problem)
    transfer.conversation_held_on = held_on
    transfer.conversation_participants = participants.strip()
    transfer.conversation_summary = summary.strip()
    transfer.conversation_recorded_by_user_id = step.actor.user_id
    redact_conversation(step.session, transfer)


def conversation_date_problem(transfer: Transfer, held_on: date) -> str | None:
    """Return why a conversation cannot be dated so (before the transfer began, or to come)."""
    began = transfer.created_at.date() if transfer.created_at else date.today()
    if held_on > date.today():
        return "The conversation cannot be dated in the future"
    if held_on < began:
        return (
            "The conversation must be on or after the day this transfer began "
            f"({began.strftime('%-d %B %Y')})"
        )
    return None


def conversation_required(school: School, transfer: Transfer) -> bool:
    """Return whether this school requires the DSL conversation for this transfer."""
    if school_setting(school, "conversation_required") == "all":
        return True
    return transfer.flagged_child


def authorise(step: Step) -> None:
    """Record who authorised, and build the bundle to send for a transfer online."""
    transfer = step.need_transfer
    transfer.authorised_by_user_id = step.actor.user_id
    transfer.authorised_at = utcnow()
    record_sent(step.session, transfer)
    if transfer.route == "online":
        from exchange.transfers.bundle_step import build_transfer_bundle

        build_transfer_bundle(step.session, step.need_instance, transfer, step.actor)


def retry(step: Step) -> None:
    """Send the bundle that was authorised again, once the cause of the failure is fixed."""
    transfer = step.need_transfer
    transfer.last_delivery_error = None
    step.details["retried_by"] = step.actor.user_id


def set_destination(step: Step) -> None:
    """Send the transfer somewhere else (once an unknown destination is known, or corrected)."""
    transfer = step.need_transfer
    partner: Partner = step.inputs["partner"]
    if partner.school_id != step.school.id:
        raise ValidationError("the destination must be in this school's directory")
    if partner.kind == UNKNOWN:
        raise ValidationError("choose the destination the child has gone to")
    if partner.id == transfer.partner_id:
        raise ValidationError("the transfer already goes there")
    step.details["from"] = transfer.partner.reference
    step.details["to"] = partner.reference
    transfer.partner_id = partner.id
    transfer.partner = partner
    transfer.route = "offline" if partner.offline else "online"


def withdraw(step: Step) -> None:
    """Withdraw a transfer that has not been delivered; tell the partner if it holds the offer."""
    step.note = str(step.inputs.get("reason") or "").strip()[:500]
    if offer_was_sent(step.need_transfer):
        sign_notice(step, WITHDRAWAL, step.note)
        step.details["partner_told"] = True


def recall(step: Step) -> None:
    """Ask the receiving school to destroy a delivered file, with the reason, signed."""
    step.note = str(step.inputs.get("reason") or "").strip()[:500]
    sign_notice(step, RECALL, step.note)


def reoffer(step: Step) -> Transfer:
    """Start a new draft that re-offers a rejected or expired transfer, answering its reason."""
    old: Transfer = step.inputs["previous"]
    if old.school_id != step.school.id or old.direction != OUTGOING:
        raise ValidationError("only this school's own outgoing transfers can be offered again")
    answer = str(step.inputs.get("reason") or "").strip()[:2000]
    pupil = step.session.get(Pupil, old.pupil_id) if old.pupil_id else None
    if pupil is None:
        raise ValidationError("the child's record is no longer held here")
    new = Transfer(
        school_id=old.school_id,
        transfer_uid=str(uuid.uuid4()),
        direction=OUTGOING,
        state=states.DRAFT,
        route=old.route,
        partner_id=old.partner_id,
        pupil_id=old.pupil_id,
        pupil_upn=old.pupil_upn,
        pupil_dob=old.pupil_dob,
        leaving_date=old.leaving_date,
        deadline=old.deadline,
        flagged_child=old.flagged_child,
        created_by_user_id=step.actor.user_id,
        follows_uid=old.transfer_uid,
        follows_answer=answer,
    )
    step.session.add(new)
    step.session.flush()
    for item in old.items:
        step.session.add(
            TransferItem(
                school_id=new.school_id,
                transfer_id=new.id,
                kind=item.kind,
                object_id=item.object_id,
                included=item.included,
                by_policy=item.by_policy,
                reason=item.reason,
            )
        )
    step.session.flush()
    step.transfer = new
    step.details["follows"] = old.transfer_uid
    step.note = answer[:500]
    return new
