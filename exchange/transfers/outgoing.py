"""The departing school's steps: draft, selection, review, offer, conversation, authorisation."""

from __future__ import annotations

import re
import uuid
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from exchange.db import utcnow
from exchange.errors import ValidationError
from exchange.instance import Instance
from exchange.packaging.keys import load_signing_key
from exchange.partners.models import Partner
from exchange.partners.service import is_confirmed
from exchange.policy.service import is_transferable
from exchange.records.models import Incident, Pupil, School, VaultDocument
from exchange.transfers import states
from exchange.transfers.actors import Actor
from exchange.transfers.clock import deadline_for
from exchange.transfers.messages import OFFER, sign_message
from exchange.transfers.models import OUTGOING, Transfer, TransferItem
from exchange.transfers.redaction_step import redact_conversation, run_redaction, unresolved_flags
from exchange.transfers.settings import school_setting
from exchange.transfers.steps import audit, move

# Categories that mark a child with a CP plan, a child in need or a looked-after child.
FLAGGED_CATEGORY = re.compile(
    r"\b(child protection plan|child in need|cin|looked after|lac|cla)\b", re.IGNORECASE
)


def create_transfer(
    session: Session,
    school: School,
    actor: Actor,
    pupil: Pupil,
    partner: Partner,
    *,
    leaving_date: date | None = None,
    today: date | None = None,
) -> Transfer:
    """Start a draft transfer of a pupil's file to a partner, with the policy's selection."""
    if pupil.school_id != school.id or partner.school_id != school.id:
        raise ValidationError("the pupil and the partner must belong to this school")
    if actor.role not in states.DSL_ROLES:
        raise states.TransitionRefused("only a DSL or deputy DSL can start a transfer")
    leaving = leaving_date or pupil.leaving_date
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
        deadline=deadline_for(school, leaving, today or date.today()),
        created_by_user_id=actor.user_id,
    )
    session.add(transfer)
    session.flush()
    _select_by_policy(session, transfer, pupil)
    transfer.flagged_child = _is_flagged_child(session, pupil)
    audit(session, transfer, actor, "transfer.draft", {"route": transfer.route})
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


def set_item(
    session: Session,
    transfer: Transfer,
    actor: Actor,
    kind: str,
    object_id: int,
    included: bool,
    reason: str,
) -> TransferItem:
    """Add or drop one record; a departure from the policy needs a recorded reason."""
    _require(transfer, {states.DRAFT}, actor)
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
        session,
        transfer,
        actor,
        "transfer.item_changed",
        {"kind": kind, "id": object_id, "included": included},
    )
    return item


def start_review(session: Session, instance: Instance, transfer: Transfer, actor: Actor) -> None:
    """Redact everything selected and move the transfer to redaction review."""
    _require(transfer, {states.DRAFT}, actor)
    if not any(item.included for item in transfer.items):
        raise ValidationError("nothing is selected to transfer")
    run_redaction(session, instance, transfer, actor)
    move(session, transfer, states.REDACTION_REVIEW, actor)


def make_offer(session: Session, instance: Instance, transfer: Transfer, actor: Actor) -> str:
    """Sign the offer (the minimum: ids, UPN, date of birth, leaving date) and mark it offered."""
    _require(transfer, {states.REDACTION_REVIEW}, actor)
    partner = transfer.partner
    if partner.offline:
        raise ValidationError("this school has no service: use the offline route")
    if not is_confirmed(session, partner):
        raise ValidationError(
            "confirm the partner's safety number by phone before sending anything"
        )
    school = session.get(School, transfer.school_id)
    expires = utcnow() + timedelta(days=school_setting(school, "offer_valid_days"))
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
    key = load_signing_key(session, school.id, instance.instance_key)
    token = sign_message(body, key, OFFER, school.urn, partner.urn)
    from exchange.receipts.receipt import sha256_text

    transfer.offer_jws = token
    transfer.offer_sha256 = sha256_text(token)
    transfer.offer_expires_at = expires
    move(session, transfer, states.OFFERED, actor)
    return token


def record_conversation(
    session: Session,
    transfer: Transfer,
    actor: Actor,
    held_on: date,
    participants: str,
    summary: str,
) -> None:
    """Record the DSL-to-DSL conversation; its summary is redacted and travels in the bundle."""
    allowed = {states.ACCEPTED} if transfer.route == "online" else {states.REDACTION_REVIEW}
    _require(transfer, allowed, actor)
    if not summary.strip() or not participants.strip():
        raise ValidationError("record who took part and a summary of the child's needs")
    if held_on > date.today():
        raise ValidationError("the conversation cannot be dated in the future")
    transfer.conversation_held_on = held_on
    transfer.conversation_participants = participants.strip()
    transfer.conversation_summary = summary.strip()
    transfer.conversation_recorded_by_user_id = actor.user_id
    redact_conversation(session, transfer)
    move(session, transfer, states.CONVERSATION_RECORDED, actor)


def conversation_required(school: School, transfer: Transfer) -> bool:
    """Return whether this school requires the DSL conversation for this transfer."""
    if school_setting(school, "conversation_required") == "all":
        return True
    return transfer.flagged_child


def check_can_authorise(session: Session, transfer: Transfer, actor: Actor) -> None:
    """Raise unless this person may authorise this transfer now."""
    school = session.get(School, transfer.school_id)
    allowed_roles = (
        {"dsl", "deputy_dsl"} if school_setting(school, "deputy_may_authorise") else {"dsl"}
    )
    if actor.role not in allowed_roles:
        raise states.TransitionRefused(
            "only the DSL can authorise (this school does not allow deputies)"
        )
    ready = {states.CONVERSATION_RECORDED}
    if not conversation_required(school, transfer) and transfer.route == "online":
        ready.add(states.ACCEPTED)
    if transfer.state not in ready:
        raise states.TransitionRefused(
            f"a transfer in state {transfer.state} cannot be authorised yet"
        )
    flags = unresolved_flags(session, transfer)
    if flags:
        raise ValidationError(
            f"{len(flags)} redaction flag(s) must be resolved before authorisation"
        )
    if transfer.route == "online" and not is_confirmed(session, transfer.partner):
        raise ValidationError("the partner's keys are not confirmed")


def authorise(
    session: Session,
    instance: Instance,
    transfer: Transfer,
    actor: Actor,
    *,
    fresh_second_factor: bool,
) -> None:
    """Authorise the transfer (the DSL, just re-authenticated) and build the bundle to send."""
    if not fresh_second_factor:
        raise states.TransitionRefused("confirm your second factor again to authorise a transfer")
    check_can_authorise(session, transfer, actor)
    transfer.authorised_by_user_id = actor.user_id
    transfer.authorised_at = utcnow()
    if transfer.route == "online":
        from exchange.transfers.bundle_step import build_transfer_bundle

        build_transfer_bundle(session, instance, transfer, actor)
    move(session, transfer, states.AUTHORISED, actor)


def withdraw(session: Session, transfer: Transfer, actor: Actor, reason: str) -> None:
    """Withdraw a transfer that has not been delivered, with a reason."""
    if not reason.strip():
        raise ValidationError("say why the transfer is withdrawn")
    move(session, transfer, states.WITHDRAWN, actor, note=reason.strip()[:500])


def _require(transfer: Transfer, allowed: set[str], actor: Actor) -> None:
    if transfer.direction != OUTGOING:
        raise states.TransitionRefused("this step belongs to the sending school")
    if actor.role not in states.DSL_ROLES:
        raise states.TransitionRefused(f"the {actor.role} role cannot change a transfer")
    if transfer.state not in allowed:
        raise states.TransitionRefused(
            f"this step is not possible while the transfer is {transfer.state}"
        )
