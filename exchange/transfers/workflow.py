"""The transfer workflow: every action declared once, and the one entry point that takes them.

Web views, CLI commands, the JSON API, the school-to-school API and Celery tasks call `apply`
(or `start` for the two actions that make a transfer); nothing else changes a transfer's state.
`apply` checks the side, the school, the permission table, the state and the preconditions,
runs the action's body, records the state change with one audit event, and writes the
action's effects to the outbox in the same transaction.
"""

from __future__ import annotations

__all__ = ["ACTIONS", "allowed", "apply", "check", "record_refusal", "start"]

from typing import Any

from sqlalchemy.orm import Session

from exchange.audit.refusals import record_refusal, refusal_event
from exchange.auth.permissions import refusal
from exchange.instance import Instance
from exchange.outbox.service import enqueue
from exchange.partners.destinations import UNKNOWN as UNKNOWN_DESTINATION
from exchange.records.models import School
from exchange.tasks import names
from exchange.transfers import (
    acknowledgement,
    incoming,
    offline_route,
    outgoing,
    preconditions,
    review_changes,
    states,
)
from exchange.transfers.actors import SYSTEM_ACTOR, Actor
from exchange.transfers.models import INCOMING, OUTGOING, Transfer
from exchange.transfers.notices import offer_was_sent
from exchange.transfers.redaction_step import resolve
from exchange.transfers.settings import school_setting
from exchange.transfers.steps import record_move
from exchange.transfers.workflow_types import (
    OFFLINE,
    ONLINE,
    Action,
    ActionRefused,
    Effect,
    Step,
)

S = states
OUT, IN, BOTH_SIDES = frozenset({OUTGOING}), frozenset({INCOMING}), frozenset({OUTGOING, INCOMING})
BEFORE_DELIVERY = (
    S.DRAFT,
    S.REDACTION_REVIEW,
    S.OFFERED,
    S.ACCEPTED,
    S.CONVERSATION_RECORDED,
    S.AUTHORISED,
    S.FAILED,
)


def _on(online: tuple[str | None, ...] = (), offline: tuple[str | None, ...] = ()) -> dict:
    return {ONLINE: frozenset(online), OFFLINE: frozenset(offline)}


def _both(*sources: str | None) -> dict:
    return _on(sources, sources)


def _nothing(_step: Step) -> None:
    return None


def _notify(event: str, words: str | None = None) -> Effect:
    return Effect(names.NOTIFY, words or f"email the DSL ({event})", lambda t: [t.id, event])


def _set_delivered(step: Step) -> None:
    from exchange.db import utcnow

    step.need_transfer.delivered_at = utcnow()


def _inputs_as_details(step: Step) -> None:
    step.details.update(step.inputs)


def _note_from_inputs(step: Step) -> None:
    step.note = str(step.inputs.get("note") or "")[:500] or None


SEND_OFFER = Effect(names.SEND_MESSAGE, "send the offer", lambda t: [t.id, "offer"])
SEND_RESPONSE = Effect(names.SEND_MESSAGE, "send the answer", lambda t: [t.id, "response"])
DELIVER = Effect(names.DELIVER, "deliver the bundle", lambda t: [t.id], lambda t: t.route == ONLINE)
COUNTERSIGN = Effect(names.COUNTERSIGN, "send the countersignature", lambda t: [t.id])
SEND_NOTICE = Effect(
    names.SEND_MESSAGE, "send the signed notice", lambda t: [t.id, "notice"], offer_was_sent
)
TELL_RECEIVER_COUNTERSIGNED = Effect(
    names.NOTIFY,
    "email the DSL (receipt_countersigned)",
    lambda t: [t.id, "receipt_countersigned"],
    lambda t: t.direction == INCOMING,
)
TELL_SENDER_EXPIRED = Effect(
    names.NOTIFY,
    "email the DSL (offer_expired)",
    lambda t: [t.id, "offer_expired"],
    lambda t: t.direction == OUTGOING,
)
REDACT_VAULT = Effect(
    names.REDACT_VAULT,
    "redact the incident texts, then the vault documents (in a pool of processes)",
    lambda t: [t.id],
    lambda t: t.vault_queued_at is not None,
)
P = preconditions

ACTIONS: dict[str, Action] = {
    action.name: action
    for action in (
        # The departing school.
        Action(
            "create",
            "Start a draft with the policy's selection",
            OUT,
            _both(None),
            (S.DRAFT,),
            "transfer.create",
            outgoing.create,
            effects=(
                Effect(
                    names.NOTIFY,
                    "email the LA and the DSL (destination unknown only)",
                    lambda t: [t.id, "destination_unknown"],
                    when=lambda t: t.partner.kind == UNKNOWN_DESTINATION,
                ),
            ),
        ),
        Action(
            "select_item",
            "Add or drop one record (a reason when it departs from policy)",
            OUT,
            _both(S.DRAFT),
            (None,),
            "transfer.select",
            outgoing.select_item,
        ),
        Action(
            "start_review",
            "Redact what is selected for the DSL's review",
            OUT,
            _both(S.DRAFT),
            (S.REDACTION_REVIEW,),
            "transfer.review",
            outgoing.start_review,
            (P.SOMETHING_SELECTED,),
            (REDACT_VAULT,),
        ),
        Action(
            "set_destination",
            "Choose or correct where the file goes (an unknown destination once known)",
            OUT,
            _both(S.DRAFT, S.REDACTION_REVIEW),
            (None,),
            "transfer.select",
            outgoing.set_destination,
        ),
        Action(
            "back_to_draft",
            "Go back to choosing what goes",
            OUT,
            _both(S.REDACTION_REVIEW),
            (S.DRAFT,),
            "transfer.select",
            _nothing,
            (P.REDACTION_FINISHED,),
        ),
        Action(
            "resolve_flag",
            "Decide a redaction flag; after authorisation this reopens the transfer",
            OUT,
            _on(
                (
                    S.REDACTION_REVIEW,
                    S.OFFERED,
                    S.ACCEPTED,
                    S.CONVERSATION_RECORDED,
                    S.AUTHORISED,
                    S.FAILED,
                ),
                (S.REDACTION_REVIEW, S.CONVERSATION_RECORDED, S.AUTHORISED),
            ),
            (None, S.CONVERSATION_RECORDED, S.ACCEPTED),
            "transfer.review",
            resolve,
            (P.REDACTION_FINISHED, P.NOT_BEING_DELIVERED, P.OPENED_BEFORE_CONFIRMING),
        ),
        Action(
            "redact_changes",
            "Redact again the texts that changed in the records after the review",
            OUT,
            _on(
                (S.REDACTION_REVIEW, S.OFFERED, S.ACCEPTED, S.CONVERSATION_RECORDED),
                (S.REDACTION_REVIEW, S.CONVERSATION_RECORDED),
            ),
            (None,),
            "transfer.review",
            review_changes.redact_again,
            (P.REDACTION_FINISHED, P.NOT_BEING_DELIVERED, P.RECORDS_CHANGED),
        ),
        Action(
            "offer",
            "Sign the offer for the receiving school",
            OUT,
            _on((S.REDACTION_REVIEW,)),
            (S.OFFERED,),
            "transfer.offer",
            outgoing.make_offer,
            (P.REDACTION_FINISHED, P.RECORDS_UNCHANGED, P.DESTINATION_KNOWN, P.PARTNER_CONFIRMED),
            (SEND_OFFER,),
        ),
        Action(
            "record_conversation",
            "Record the DSL-to-DSL conversation",
            OUT,
            _on((S.ACCEPTED,), (S.REDACTION_REVIEW,)),
            (S.CONVERSATION_RECORDED,),
            "transfer.converse",
            outgoing.record_conversation,
            (P.REDACTION_FINISHED, P.DESTINATION_KNOWN),
        ),
        Action(
            "authorise",
            "Authorise, and build the bundle (online)",
            OUT,
            _on((S.ACCEPTED, S.CONVERSATION_RECORDED), (S.CONVERSATION_RECORDED,)),
            (S.AUTHORISED,),
            "transfer.authorise",
            outgoing.authorise,
            (
                P.REDACTION_FINISHED,
                P.RECORDS_UNCHANGED,
                P.DESTINATION_KNOWN,
                P.FRESH_SECOND_FACTOR,
                P.CONVERSATION_WHEN_REQUIRED,
                P.FLAGS_RESOLVED,
                P.REDACTED_COPY_OF_EVERY_DOCUMENT,
                P.PARTNER_CONFIRMED,
            ),
            (DELIVER,),
            audit_refusals=True,
        ),
        Action(
            "retry",
            "Send the authorised bundle again after a failure",
            OUT,
            _on((S.FAILED,)),
            (S.AUTHORISED,),
            "transfer.authorise",
            outgoing.retry,
            (P.FRESH_SECOND_FACTOR, P.FLAGS_RESOLVED, P.PARTNER_CONFIRMED, P.BUNDLE_KEPT),
            (DELIVER,),
            audit_refusals=True,
        ),
        Action(
            "withdraw",
            "Withdraw before delivery, with a reason",
            OUT,
            _both(*BEFORE_DELIVERY),
            (S.WITHDRAWN,),
            "transfer.withdraw",
            outgoing.withdraw,
            (P.REASON_GIVEN, P.NOT_BEING_DELIVERED),
            (SEND_NOTICE,),
            audit_refusals=True,
        ),
        Action(
            "recall",
            "Recall a delivered file: the receiving school is asked to destroy it",
            OUT,
            _on((S.DELIVERED, S.RECEIPTED, S.CLOSED)),
            (S.RECALL_REQUESTED,),
            "transfer.recall",
            outgoing.recall,
            (P.REASON_GIVEN, P.FRESH_SECOND_FACTOR, P.DELIVERED_ONLINE),
            (SEND_NOTICE,),
            audit_refusals=True,
        ),
        Action(
            "reoffer",
            "Offer a rejected or expired transfer again, answering the reason",
            OUT,
            _both(None),
            (S.DRAFT,),
            "transfer.create",
            outgoing.reoffer,
            (P.PREVIOUS_ANSWERED_NO, P.REASON_GIVEN),
        ),
        Action(
            "export",
            "Write the offline AES-256 zip",
            OUT,
            _on(offline=(S.AUTHORISED,)),
            (S.EXPORTED,),
            "transfer.export",
            offline_route.export_package,
            (P.DESTINATION_KNOWN,),
            effects=(_notify("offline_pickup", "email the receiving DSL the download page"),),
        ),
        Action(
            "confirm_receipt_code",
            "Record the receipt code read back by the receiving DSL",
            OUT,
            _on(offline=(S.EXPORTED,)),
            (S.RECEIPTED,),
            "transfer.confirm_receipt",
            offline_route.confirm_receipt_code,
            then="close",
        ),
        Action(
            "confirm_on_download_page",
            "The receiving DSL typed the receipt code on the download page",
            OUT,
            _on(offline=(S.EXPORTED,)),
            (S.RECEIPTED,),
            "transfer.system",
            offline_route.confirm_on_download_page,
            then="close",
        ),
        Action(
            "record_signed_form",
            "Keep the transfer form the receiving school signed and sent back",
            OUT,
            _on(offline=(S.EXPORTED,)),
            (S.RECEIPTED,),
            "transfer.confirm_receipt",
            offline_route.record_signed_form,
            then="close",
        ),
        # The departing school, on a partner's message or a task.
        Action(
            "partner_accepted",
            "The receiving school accepted (signed answer)",
            OUT,
            _on((S.OFFERED,)),
            (S.ACCEPTED,),
            "transfer.system",
            incoming.partner_answered,
            effects=(_notify("offer_accepted"),),
        ),
        Action(
            "partner_rejected",
            "The receiving school rejected (signed answer)",
            OUT,
            _on((S.OFFERED,)),
            (S.REJECTED,),
            "transfer.system",
            incoming.partner_answered,
            effects=(_notify("offer_rejected"),),
        ),
        Action(
            "delivered",
            "The receiving service took the bundle",
            OUT,
            _on((S.AUTHORISED,)),
            (S.DELIVERED,),
            "transfer.system",
            _set_delivered,
        ),
        Action(
            "delivery_failed",
            "Delivery or the receipt failed",
            OUT,
            _on((S.AUTHORISED, S.DELIVERED)),
            (S.FAILED,),
            "transfer.system",
            _note_from_inputs,
            effects=(_notify("delivery_failed"),),
        ),
        Action(
            "partner_destroyed",
            "The receiving school destroyed the recalled file (signed notice)",
            OUT,
            _on((S.RECALL_REQUESTED,)),
            (S.RECALLED,),
            "transfer.system",
            incoming.partner_destroyed,
            effects=(_notify("recall_confirmed"),),
        ),
        Action(
            "partner_acknowledged",
            "The receiving DSL read the file and acted on it (signed notice)",
            OUT,
            _on((S.DELIVERED, S.RECEIPTED, S.CLOSED)),
            (None,),
            "transfer.system",
            acknowledgement.partner_acknowledged,
            (P.NOT_YET_ACKNOWLEDGED,),
        ),
        Action(
            "receipt_verified",
            "The receipt matched what was sent; countersigned",
            OUT,
            _on((S.DELIVERED,)),
            (S.RECEIPTED,),
            "transfer.system",
            _nothing,
            effects=(COUNTERSIGN,),
        ),
        # The receiving school.
        Action(
            "receive_offer",
            "A partner's signed offer arrived",
            IN,
            _both(None),
            (S.OFFERED,),
            "transfer.system",
            incoming.receive_offer,
            effects=(_notify("offer_received"),),
        ),
        Action(
            "accept",
            "Accept: the child is, or will be, on roll",
            IN,
            _both(S.OFFERED),
            (S.ACCEPTED,),
            "answer_offers",
            incoming.accept,
            (P.ON_ROLL_CONFIRMED, P.OFFER_STILL_VALID),
            (SEND_RESPONSE,),
        ),
        Action(
            "reject",
            "Reject, with a reason",
            IN,
            _both(S.OFFERED),
            (S.REJECTED,),
            "answer_offers",
            incoming.reject,
            (P.REASON_GIVEN, P.OFFER_STILL_VALID),
            (SEND_RESPONSE,),
        ),
        Action(
            "bundle_received",
            "The bundle verified and was imported; receipt signed",
            IN,
            _both(S.ACCEPTED),
            (S.RECEIPTED,),
            "transfer.system",
            incoming.file_received,
            effects=(_notify("file_received"),),
        ),
        Action(
            "partner_withdrew",
            "The sending school withdrew its offer (signed notice)",
            IN,
            _both(S.OFFERED, S.ACCEPTED, S.EXPIRED),
            (S.WITHDRAWN,),
            "transfer.system",
            incoming.partner_withdrew,
            effects=(_notify("offer_withdrawn"),),
        ),
        Action(
            "partner_recalled",
            "The sending school recalled the delivered file (signed notice)",
            IN,
            _on((S.RECEIPTED, S.CLOSED)),
            (S.RECALL_REQUESTED,),
            "transfer.system",
            incoming.partner_recalled,
            effects=(_notify("recall_requested"),),
        ),
        Action(
            "confirm_destruction",
            "Destroy the recalled file here and send the signed destruction notice",
            IN,
            _on((S.RECALL_REQUESTED,)),
            (S.RECALLED,),
            "transfer.destroy_recalled",
            incoming.confirm_destruction,
            (P.FRESH_SECOND_FACTOR,),
            (SEND_NOTICE,),
            audit_refusals=True,
        ),
        Action(
            "acknowledge",
            "Record the file as read and acted on; the sending school is told",
            IN,
            _both(S.RECEIPTED, S.CLOSED),
            (None,),
            "manage_transfers",
            acknowledgement.acknowledge,
            (P.NOT_YET_ACKNOWLEDGED,),
            (SEND_NOTICE,),
        ),
        # Either side.
        Action(
            "expire",
            "The offer was not answered in time",
            BOTH_SIDES,
            _both(S.OFFERED),
            (S.EXPIRED,),
            "transfer.system",
            incoming.expire,
            effects=(TELL_SENDER_EXPIRED,),
        ),
        Action(
            "close",
            "Both schools hold the receipt and its countersignature",
            BOTH_SIDES,
            _both(S.RECEIPTED),
            (S.CLOSED,),
            "transfer.system",
            _nothing,
            effects=(TELL_RECEIVER_COUNTERSIGNED,),
        ),
    )
}


def apply(
    session: Session,
    instance: Instance | None,
    transfer: Transfer,
    name: str,
    actor: Actor,
    **inputs: Any,
) -> Any:
    """Take one action on a transfer, or raise ActionRefused and change nothing."""
    school = session.get(School, transfer.school_id)
    assert school is not None
    return _take(Step(session, instance, school, transfer, actor, inputs), ACTIONS[name])


def start(
    session: Session,
    instance: Instance | None,
    school: School,
    name: str,
    actor: Actor,
    **inputs: Any,
) -> Transfer:
    """Take an action that makes a transfer ("create", "reoffer", "receive_offer"); return it."""
    step = Step(session, instance, school, None, actor, inputs)
    _take(step, ACTIONS[name])
    return step.need_transfer


def _take(step: Step, action: Action) -> Any:
    previous = step.transfer.state if step.transfer is not None else None
    try:
        check(step, action)
    except ActionRefused as refused:
        if action.audit_refusals:
            refused.audit = _refusal_event(step, action, refused.message)
        raise
    result = action.run(step)
    transfer = step.need_transfer
    target = step.target if step.target is not None else action.targets[0]
    if target not in action.targets:
        raise AssertionError(f"{action.name} may not end in {target}")
    if target is not None:
        details = {"action": action.name, **step.details}
        record_move(
            step.session, transfer, previous, target, step.actor, note=step.note, details=details
        )
    for effect in action.effects:
        if effect.when(transfer):
            enqueue(
                step.session, transfer.school_id, effect.task, effect.args(transfer), transfer.id
            )
    if action.then is not None:
        _take(
            Step(step.session, step.instance, step.school, transfer, SYSTEM_ACTOR, {}),
            ACTIONS[action.then],
        )
    return result


def check(step: Step, action: Action, *, preconditions: bool = True) -> None:
    """Raise ActionRefused unless this actor may take this action on this transfer now."""
    transfer = step.transfer
    direction = transfer.direction if transfer is not None else next(iter(action.sides))
    if direction not in action.sides:
        side = "sending" if OUTGOING in action.sides else "receiving"
        raise ActionRefused(f"This step belongs to the {side} school")
    if step.actor.school_id is not None and step.actor.school_id != step.school.id:
        raise ActionRefused("You can act only on your own school's transfers", status_code=403)
    settings = {"deputy_may_authorise": school_setting(step.school, "deputy_may_authorise")}
    reason = refusal(step.actor.role, action.permission, settings)
    if reason is not None:
        raise ActionRefused(reason, status_code=403)
    if transfer is not None and not action.starts_from(transfer.route, transfer.state):
        words = states.WORDS.get(transfer.state, transfer.state)
        raise ActionRefused(
            f"This step ({action.name.replace('_', ' ')}) is not possible while the transfer "
            f"is {words}"
        )
    for precondition in action.preconditions if preconditions else ():
        problem = precondition.check(step)
        if problem is not None:
            raise ActionRefused(problem, status_code=400)


def allowed(
    session: Session,
    instance: Instance | None,
    transfer: Transfer,
    name: str,
    actor: Actor,
    **inputs: Any,
) -> bool:
    """Return whether this actor may take an action from the transfer's state (not yet whether
    its preconditions hold: those are checked, and explained, when it is taken)."""
    school = session.get(School, transfer.school_id)
    assert school is not None
    try:
        step = Step(session, instance, school, transfer, actor, inputs)
        check(step, ACTIONS[name], preconditions=False)
    except ActionRefused:
        return False
    return True


def refusal_to_start(
    session: Session,
    instance: Instance | None,
    school: School,
    name: str,
    actor: Actor,
    **inputs: Any,
) -> str | None:
    """Return why this actor may not take a start action now (preconditions too), or None."""
    try:
        check(Step(session, instance, school, None, actor, inputs), ACTIONS[name])
    except ActionRefused as refused:
        return refused.message
    return None


def _refusal_event(step: Step, action: Action, message: str) -> dict[str, Any]:
    return refusal_event(
        step.school.id,
        step.actor.user_id,
        step.actor.role,
        f"transfer.{action.name}_refused",
        "transfer",
        step.transfer.transfer_uid if step.transfer else "",
        step.actor.request_id,
        message,
    )
