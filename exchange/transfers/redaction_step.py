"""The redaction review: redact every text and document that travels, and track the flags."""

from __future__ import annotations

import tempfile
from pathlib import Path

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from exchange.db import utcnow
from exchange.errors import ValidationError
from exchange.instance import Instance
from exchange.records.models import Incident, IncidentAction, Pupil, VaultDocument
from exchange.redaction.pipeline import RedactionBlocked, process_document, process_text
from exchange.redaction.pseudonyms import PseudonymBook
from exchange.transfers import states
from exchange.transfers.actors import Actor
from exchange.transfers.models import RedactedText, RedactionReview, Transfer
from exchange.transfers.people import people_to_consider, pupil_person_id
from exchange.transfers.steps import audit
from exchange.transfers.text_redaction import (
    file_texts,
    incident_count,
    redact_texts,
    source_digest,
    text_groups,
)
from exchange.transfers.workflow_types import Step
from exchange.vault.pupil_keys import blob_context, pupil_data_key

RESOLUTIONS = ("confirmed", "excluded", "replaced")


def included_ids(transfer: Transfer, kind: str) -> list[int]:
    """Return the ids of the included records of one kind, in a stable order."""
    return sorted(item.object_id for item in transfer.items if item.kind == kind and item.included)


def run_redaction(
    session: Session,
    instance: Instance,
    transfer: Transfer,
    actor: Actor,
    *,
    texts_now: bool = False,
) -> None:
    """Forget any earlier review and queue the redaction of everything the transfer carries.

    The incident texts, then the vault documents, are redacted by a task
    (exchange.transfers.vault_task) in that order. With `texts_now` (a batch, which offers in
    the same run) the texts are redacted here instead, by the same code in the same order.
    """
    pupil = subject_of(session, transfer)
    _forget_previous(session, instance, transfer)
    book = PseudonymBook()
    if texts_now:
        groups = text_groups(session, transfer)
        outcomes = redact_texts(
            groups, people_to_consider(session, pupil), pupil_person_id(pupil.id), book
        )
        for outcome in outcomes:
            if outcome.text is None:
                job = outcome.job
                raise ValidationError(
                    f"redaction of {job.kind} {job.object_id} failed its independent check"
                )
        file_texts(session, transfer, outcomes)
        incidents = incident_count(groups)
    else:  # Counted only: nothing is read or decrypted in the request.
        incidents = _incident_count(session, transfer)
    documents = _documents(session, transfer)
    texts_queued = not texts_now and bool(incidents or transfer.conversation_summary)
    transfer.vault_queued_at = utcnow() if documents or texts_queued else None
    transfer.incidents_total = incidents
    transfer.incidents_done = incidents if texts_now else 0
    transfer.vault_total = len(documents)
    transfer.vault_done = 0
    transfer.pseudonyms = book.to_dict()
    session.flush()
    audit(
        session,
        transfer,
        actor,
        "transfer.redaction_run",
        {
            "reviews": len(reviews(session, transfer)),
            "incidents": incidents,
            "documents": len(documents),
        },
    )


def redact_conversation(session: Session, transfer: Transfer) -> None:
    """Redact the recorded conversation summary with the same pseudonyms as the rest."""
    pupil = subject_of(session, transfer)
    for model in (RedactionReview, RedactedText):
        session.execute(
            delete(model).where(model.transfer_id == transfer.id, model.kind == "conversation")
        )
    book = pseudonym_book(transfer)
    _redact_text(
        session,
        transfer,
        "conversation",
        transfer.id,
        transfer.conversation_summary or "",
        people_to_consider(session, pupil),
        pupil_person_id(pupil.id),
        book,
    )
    transfer.pseudonyms = book.to_dict()


def pseudonym_book(transfer: Transfer) -> PseudonymBook:
    """Return the transfer's pseudonym book, so a child named before keeps their pseudonym."""
    return PseudonymBook(dict(transfer.pseudonyms or {}))


def reviews(session: Session, transfer: Transfer) -> list[RedactionReview]:
    """Return the redaction reviews of a transfer."""
    return list(
        session.scalars(
            select(RedactionReview)
            .where(RedactionReview.transfer_id == transfer.id)
            .order_by(RedactionReview.kind, RedactionReview.object_id)
        )
    )


def unresolved_flags(session: Session, transfer: Transfer) -> list[RedactionReview]:
    """Return the reviews whose flags still stop authorisation."""
    return [review for review in reviews(session, transfer) if review.blocks_authorisation]


def documents_without_redacted_copy(session: Session, transfer: Transfer) -> list[int]:
    """Return the included documents with no redacted copy to send (an original never goes)."""
    redacted = {
        review.object_id
        for review in reviews(session, transfer)
        if review.kind == "document" and review.redacted_storage_key
    }
    return [number for number in included_ids(transfer, "document") if number not in redacted]


def no_redacted_copy_message(document_ids: list[int]) -> str:
    """Say, for the DSL, which documents have no redacted copy and what to do (audit-sized)."""
    shown = [str(number) for number in document_ids[:3]]
    more = len(document_ids) - len(shown)
    if len(document_ids) == 1:
        which = f"Document {shown[0]} has"
    elif more:
        which = f"Documents {', '.join(shown)} and {more} more have"
    else:
        which = f"Documents {', '.join(shown[:-1])} and {shown[-1]} have"
    each = "it" if len(document_ids) == 1 else "each"
    return (
        f"{which} no redacted copy, and an original is never sent: on the redaction review, "
        f"exclude {each} or upload a redacted PDF in its place"
    )


def resolve(step: Step) -> RedactionReview:
    """Body of "resolve_flag": record the decision; after authorisation, reopen the transfer."""
    transfer = step.need_transfer
    review = resolve_flag(
        step.session,
        step.need_instance,
        transfer,
        int(step.inputs["review_id"]),
        str(step.inputs.get("resolution") or ""),
        str(step.inputs.get("note") or ""),
        step.actor,
        step.inputs.get("replacement"),
    )
    if transfer.state in (states.AUTHORISED, states.FAILED):
        _reopen_for_authorisation(step)
    return review


def _reopen_for_authorisation(step: Step) -> None:
    """What travels changed after authorisation: drop the built bundle, authorise again."""
    transfer = step.need_transfer
    if transfer.route == "online":
        from exchange.transfers.bundle_step import outbox_path

        outbox_path(step.need_instance, transfer).unlink(missing_ok=True)
    for field in ("bundle_storage_key", "bundle_sha256", "bundle_size", "manifest_sha256"):
        setattr(transfer, field, None)
    transfer.file_count = None
    transfer.authorised_by_user_id = None
    transfer.authorised_at = None
    step.target = states.CONVERSATION_RECORDED if transfer.conversation_held_on else states.ACCEPTED
    step.note = "what travels changed after authorisation: authorise again"


def resolve_flag(
    session: Session,
    instance: Instance,
    transfer: Transfer,
    review_id: int,
    resolution: str,
    note: str,
    actor: Actor,
    replacement: bytes | None = None,
) -> RedactionReview:
    """Record the DSL's decision on a flagged item: confirmed, excluded, or replaced."""
    review = session.get(RedactionReview, review_id)
    if review is None or review.transfer_id != transfer.id:
        raise ValidationError("no such redaction review on this transfer")
    if resolution not in RESOLUTIONS:
        raise ValidationError(f"resolution must be one of {', '.join(RESOLUTIONS)}")
    if not note.strip():
        raise ValidationError("say what was checked or why (the note is kept with the transfer)")
    if resolution == "confirmed" and review.report.get("status") == "blocked":
        raise ValidationError(
            "a name is still in this document: exclude it or upload a replacement"
        )
    if resolution == "confirmed" and review.kind == "document" and not review.redacted_storage_key:
        # Nothing redacted exists to send, and the original never travels.
        raise ValidationError(
            "this document could not be redacted: exclude it or upload a redacted PDF"
        )
    if resolution == "excluded":
        _exclude(transfer, review)
    if resolution == "replaced":
        if review.kind != "document" or not replacement:
            raise ValidationError("a replacement is a redacted PDF for a flagged document")
        review = _replace(session, instance, transfer, review, replacement)
    if review.kind != "document" and resolution == "confirmed":
        _redact_all_pending(session, transfer, review)
    review.resolution = resolution
    review.resolution_note = note.strip()
    review.resolved_by_user_id = actor.user_id
    review.resolved_at = utcnow()
    audit(
        session,
        transfer,
        actor,
        "redaction.resolved",
        {"review": review.id, "resolution": resolution},
    )
    return review


def subject_of(session: Session, transfer: Transfer) -> Pupil:
    """Return the child the transfer is about, or refuse if the record is gone."""
    pupil = session.get(Pupil, transfer.pupil_id)
    if pupil is None:
        raise ValidationError("the transfer's pupil is not on this school's records")
    return pupil


def _incident_count(session: Session, transfer: Transfer) -> int:
    ids = included_ids(transfer, "incident")
    if not ids:
        return 0
    return session.scalar(select(func.count()).where(Incident.id.in_(ids))) or 0


def vault_documents(session: Session, transfer: Transfer) -> list[VaultDocument]:
    """Return the included vault documents of a transfer, in id order."""
    return _documents(session, transfer)


def _documents(session: Session, transfer: Transfer) -> list[VaultDocument]:
    ids = included_ids(transfer, "document")
    if not ids:
        return []
    return list(
        session.scalars(
            select(VaultDocument).where(VaultDocument.id.in_(ids)).order_by(VaultDocument.id)
        )
    )


def _forget_previous(session: Session, instance: Instance, transfer: Transfer) -> None:
    keys = session.scalars(
        select(RedactionReview.redacted_storage_key).where(
            RedactionReview.transfer_id == transfer.id,
            RedactionReview.redacted_storage_key.is_not(None),
        )
    )
    for key in keys.all():  # Only the documents' keys: the texts' reviews are not loaded.
        instance.blobs.delete(key)
    session.execute(delete(RedactionReview).where(RedactionReview.transfer_id == transfer.id))
    session.execute(delete(RedactedText).where(RedactedText.transfer_id == transfer.id))


def _redact_text(
    session: Session,
    transfer: Transfer,
    kind: str,
    object_id: int,
    text: str,
    people: list,
    subject_id: str,
    book: PseudonymBook,
    decisions: dict[str, str] | None = None,
) -> None:
    try:
        result, report = process_text(
            text,
            people,
            subject_id=subject_id,
            book=book,
            decisions=decisions,
            document=f"{kind}:{object_id}",
        )
    except RedactionBlocked as blocked:
        raise ValidationError(
            f"redaction of {kind} {object_id} failed its independent check"
        ) from blocked
    session.add(
        RedactedText(
            school_id=transfer.school_id,
            transfer_id=transfer.id,
            kind=kind,
            object_id=object_id,
            text=result.text,
            source_sha256=source_digest(text),
        )
    )
    session.add(
        RedactionReview(
            school_id=transfer.school_id,
            transfer_id=transfer.id,
            kind=kind,
            object_id=object_id,
            report=report.to_dict(),
            flagged=result.needs_review,
        )
    )


def _redact_all_pending(session: Session, transfer: Transfer, review: RedactionReview) -> None:
    pending = {
        decision["key"]: "redact"
        for decision in review.report.get("decisions", [])  # type: ignore[union-attr]
        if decision.get("decision") == "needs_review"
    }
    source = _source_text(session, transfer, review.kind, review.object_id)
    pupil = subject_of(session, transfer)
    book = pseudonym_book(transfer)
    result, report = process_text(
        source,
        people_to_consider(session, pupil),
        subject_id=pupil_person_id(pupil.id),
        book=book,
        decisions=pending,
        document=f"{review.kind}:{review.object_id}",
    )
    stored = session.scalar(
        select(RedactedText).where(
            RedactedText.transfer_id == transfer.id,
            RedactedText.kind == review.kind,
            RedactedText.object_id == review.object_id,
        )
    )
    if stored is not None:
        stored.text = result.text
        stored.source_sha256 = source_digest(source)
    review.report = report.to_dict()
    transfer.pseudonyms = book.to_dict()


def _source_text(session: Session, transfer: Transfer, kind: str, object_id: int) -> str:
    if kind == "incident":
        return session.get(Incident, object_id).narrative  # type: ignore[union-attr]
    if kind == "action":
        return session.get(IncidentAction, object_id).text  # type: ignore[union-attr]
    return transfer.conversation_summary or ""


def _redact_document(
    session: Session,
    instance: Instance,
    transfer: Transfer,
    pupil: Pupil,
    document: VaultDocument,
    people: list,
    subject_id: str,
    book: PseudonymBook,
    source_bytes: bytes | None = None,
) -> RedactionReview:
    key = pupil_data_key(session, pupil, instance.instance_key)
    review = RedactionReview(
        school_id=transfer.school_id,
        transfer_id=transfer.id,
        kind="document",
        object_id=document.id,
        report={},
    )
    # A replacement is always a redacted PDF; a vault document is converted or read as needed.
    media_type = "application/pdf" if source_bytes else document.media_type
    with tempfile.TemporaryDirectory(prefix="sgx-redact-") as folder:
        source = Path(folder) / "in"
        output = Path(folder) / "out.pdf"
        plain = source_bytes or instance.blobs.read_all(
            key, blob_context(pupil), document.storage_key
        )
        source.write_bytes(plain)
        try:
            report = process_document(
                source,
                output,
                people,
                media_type=media_type,
                subject_id=subject_id,
                book=book,
                document=f"document:{document.id}",
            )
        except RedactionBlocked as blocked:
            review.flagged = True
            review.report = blocked.report.to_dict()
            session.add(review)
            return review
        except ValidationError as error:
            review.flagged = True
            review.report = {
                "status": "needs_review",
                "flags": [{"reason": f"cannot be redacted: {error.message}"}],
            }
            session.add(review)
            return review
        with output.open("rb") as handle:
            blob = instance.blobs.write(
                key, blob_context(pupil), handle, instance.config["MAX_VAULT_FILE_BYTES"]
            )
    review.report = report.to_dict()
    review.flagged = report.status != "clean"
    review.redacted_storage_key = blob.storage_key
    review.redacted_sha256 = blob.sha256
    review.redacted_size = blob.size
    session.add(review)
    return review


def _exclude(transfer: Transfer, review: RedactionReview) -> None:
    if review.kind != "document":
        raise ValidationError(
            "only a document can be excluded here; drop the incident from the selection"
        )
    for item in transfer.items:
        if item.kind == "document" and item.object_id == review.object_id:
            item.included = False
            item.reason = "excluded at redaction review"


def _replace(
    session: Session,
    instance: Instance,
    transfer: Transfer,
    review: RedactionReview,
    replacement: bytes,
) -> RedactionReview:
    pupil = subject_of(session, transfer)
    document = session.get(VaultDocument, review.object_id)
    if document is None:
        raise ValidationError("the flagged document no longer exists")
    previous_key = review.redacted_storage_key
    session.delete(review)
    session.flush()
    book = pseudonym_book(transfer)
    fresh = _redact_document(
        session,
        instance,
        transfer,
        pupil,
        document,
        people_to_consider(session, pupil),
        pupil_person_id(pupil.id),
        book,
        source_bytes=replacement,
    )
    if fresh.redacted_storage_key is None:
        raise ValidationError("the replacement still fails the redaction check")
    if previous_key:
        instance.blobs.delete(previous_key)
    transfer.pseudonyms = book.to_dict()
    return fresh
