"""What must hold before a workflow action: each check returns its refusal in words, or None."""

from __future__ import annotations

from sqlalchemy import select

from exchange.db import utcnow
from exchange.partners.service import is_confirmed
from exchange.transfers import states
from exchange.transfers.acknowledgement import not_yet_acknowledged
from exchange.transfers.bundle_step import outbox_path
from exchange.transfers.models import RedactionReview, Transfer
from exchange.transfers.openings import has_opened
from exchange.transfers.outgoing import conversation_required
from exchange.transfers.redaction_progress import counts_of
from exchange.transfers.redaction_step import (
    documents_without_redacted_copy,
    no_redacted_copy_message,
    unresolved_flags,
)
from exchange.transfers.review_changes import NOTHING_CHANGED, changes_since_review, refusal
from exchange.transfers.workflow_types import Precondition, Step


def _fresh_second_factor(step: Step) -> str | None:
    if step.inputs.get("fresh_second_factor") is True:
        return None
    return "Confirm your second factor again: it is needed within minutes of this step"


def _flags_resolved(step: Step) -> str | None:
    flags = unresolved_flags(step.session, step.need_transfer)
    if not flags:
        return None
    return f"Resolve the {len(flags)} redaction flag(s) first: each needs your decision"


def _redacted_copy_of_every_document(step: Step) -> str | None:
    missing = documents_without_redacted_copy(step.session, step.need_transfer)
    return no_redacted_copy_message(missing) if missing else None


def _opened_before_confirming(step: Step) -> str | None:
    if step.inputs.get("resolution") != "confirmed":
        return None
    try:
        review = step.session.get(RedactionReview, int(step.inputs.get("review_id") or 0))
    except (TypeError, ValueError):
        return None  # The step itself refuses an unknown review.
    if review is None or review.kind != "document" or review.transfer_id != step.need_transfer.id:
        return None
    if has_opened(step.session, review, step.actor.user_id):
        return None
    return (
        "Open the document in the viewer before you confirm it: its original and redacted "
        "pages are shown side by side on the redaction review"
    )


def _vault_redacted(step: Step) -> str | None:
    transfer = step.need_transfer
    if transfer.vault_queued_at is None:
        return None
    return (
        f"The incidents and documents are still being redacted ({counts_of(transfer).words()}): "
        "wait until the redaction has finished"
    )


def _records_unchanged(step: Step) -> str | None:
    changes = changes_since_review(step.session, step.need_transfer)
    return refusal(changes) if changes else None


def _records_changed(step: Step) -> str | None:
    return None if changes_since_review(step.session, step.need_transfer) else NOTHING_CHANGED


def _partner_confirmed(step: Step) -> str | None:
    transfer = step.need_transfer
    if transfer.route != "online" or is_confirmed(step.session, transfer.partner):
        return None
    return "Confirm the other school's safety number by phone before anything is sent"


def _conversation_when_required(step: Step) -> str | None:
    transfer = step.need_transfer
    if transfer.conversation_held_on or not conversation_required(step.school, transfer):
        return None
    return "Record the DSL conversation first: this school requires it before authorisation"


def _something_selected(step: Step) -> str | None:
    if any(item.included for item in step.need_transfer.items):
        return None
    return "Nothing is selected to transfer: include at least one record"


def _reason_given(step: Step) -> str | None:
    if str(step.inputs.get("reason") or "").strip():
        return None
    return "Give a reason: it is kept with the transfer"


def _on_roll_confirmed(step: Step) -> str | None:
    if step.inputs.get("on_roll_confirmed") is True:
        return None
    return "Confirm that the child is, or will be, on your roll"


def _offer_still_valid(step: Step) -> str | None:
    expires = step.need_transfer.offer_expires_at
    if expires is None or expires >= utcnow():
        return None
    return "This offer has expired: ask the sending school to offer the file again"


def _not_being_delivered(step: Step) -> str | None:
    transfer = step.need_transfer
    if transfer.route == "online" and transfer.state == states.AUTHORISED:
        return "The file is being delivered: wait until the delivery ends or fails"
    return None


def _bundle_kept(step: Step) -> str | None:
    instance = step.need_instance
    if step.need_transfer.bundle_sha256 and outbox_path(instance, step.need_transfer).is_file():
        return None
    return "The authorised bundle is no longer here: start the transfer again"


def _previous_answered_no(step: Step) -> str | None:
    previous = step.inputs.get("previous")
    if previous is None or previous.state not in (states.REJECTED, states.EXPIRED):
        return "Only a rejected or expired offer can be offered again"
    again = step.session.scalar(
        select(Transfer.id).where(
            Transfer.school_id == previous.school_id, Transfer.follows_uid == previous.transfer_uid
        )
    )
    if again is not None:
        return "This offer has already been offered again: continue with the new transfer"
    return None


def _offer_held_by_partner(step: Step) -> str | None:
    transfer = step.need_transfer
    if transfer.route == "online" and transfer.offer_sha256:
        return None
    return "Only a file delivered online can be recalled: contact the receiving DSL directly"


def _destination_known(step: Step) -> str | None:
    if step.need_transfer.partner.kind != "unknown":
        return None
    return (
        "The child's destination is unknown: the local authority is told (children missing "
        "education); set the destination when it is known"
    )


FRESH_SECOND_FACTOR = Precondition("a second factor confirmed minutes ago", _fresh_second_factor)
FLAGS_RESOLVED = Precondition("every redaction flag resolved", _flags_resolved)
REDACTED_COPY_OF_EVERY_DOCUMENT = Precondition(
    "a redacted copy of every document that travels (an original never does)",
    _redacted_copy_of_every_document,
)
OPENED_BEFORE_CONFIRMING = Precondition(
    "a document confirmed only after its DSL opened it in the viewer", _opened_before_confirming
)
PARTNER_CONFIRMED = Precondition("the partner's keys confirmed (online)", _partner_confirmed)
CONVERSATION_WHEN_REQUIRED = Precondition(
    "the DSL conversation recorded, where the school requires it", _conversation_when_required
)
SOMETHING_SELECTED = Precondition("at least one record selected", _something_selected)
REASON_GIVEN = Precondition("a reason", _reason_given)
ON_ROLL_CONFIRMED = Precondition("the child confirmed on roll", _on_roll_confirmed)
OFFER_STILL_VALID = Precondition("the offer not expired", _offer_still_valid)
NOT_BEING_DELIVERED = Precondition("no delivery in progress", _not_being_delivered)
BUNDLE_KEPT = Precondition("the authorised bundle still kept", _bundle_kept)
PREVIOUS_ANSWERED_NO = Precondition(
    "the earlier offer rejected or expired, and not yet offered again", _previous_answered_no
)
REDACTION_FINISHED = Precondition(
    "redaction finished (every incident and document)", _vault_redacted
)
DESTINATION_KNOWN = Precondition("the destination known", _destination_known)
RECORDS_CHANGED = Precondition(
    "a text that travels changed in the records since its redaction", _records_changed
)
RECORDS_UNCHANGED = Precondition(
    "no text that travels changed in the records since its redaction", _records_unchanged
)
DELIVERED_ONLINE = Precondition("the file delivered online", _offer_held_by_partner)
NOT_YET_ACKNOWLEDGED = Precondition("not already read and acted on", not_yet_acknowledged)
