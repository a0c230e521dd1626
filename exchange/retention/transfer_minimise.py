"""Reduce a transfer to its minimal record once the pupil's file is destroyed here.

Kept: ids, direction, state, route, partner, dates, the UPN and date of birth exactly as the
signed offer states them, every hash, and the offer, response, receipt and countersignature
JWS. Cleared: the conversation, rejection reason, pseudonym book, delivery error, offline
confirmer, item reasons and step notes; deleted: redacted texts, redaction reviews and every
blob (the bundle, redacted PDFs and a returned signed transfer form). The pupil link is cut
so the pupil row can go.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from exchange.errors import ValidationError
from exchange.transfers.models import (
    RedactedText,
    RedactionReview,
    Transfer,
    TransferItem,
    TransferStep,
)
from exchange.vault.store import BlobStore

CLEARED_TRANSFER_FIELDS = (
    "conversation_participants",
    "conversation_summary",
    "offered_name",
    "offer_jws_sealed",  # A signed offer that names the child goes; its SHA-256 stays.
    "reject_reason",
    "pseudonyms",
    "offline_confirmed_by",
    "last_delivery_error",
    "bundle_storage_key",
    "signed_form_storage_key",  # The signed form's file goes; its SHA-256 stays.
)


def delete_blob(blobs: BlobStore, storage_key: str | None) -> bool:
    """Delete a blob file if the key names one; return whether a file was removed."""
    if not storage_key:
        return False
    try:
        return blobs.delete(storage_key)
    except ValidationError:
        return False  # Not a key of this store, so there is no file of it here.


def drop_redactions(
    session: Session, blobs: BlobStore, kind: str, object_ids: Sequence[int]
) -> int:
    """Delete redacted texts and reviews (and redacted blobs) of destroyed records."""
    if not object_ids:
        return 0
    keys = session.scalars(
        select(RedactionReview.redacted_storage_key).where(
            RedactionReview.kind == kind,
            RedactionReview.object_id.in_(object_ids),
            RedactionReview.redacted_storage_key.is_not(None),
        )
    ).all()
    for storage_key in keys:
        delete_blob(blobs, storage_key)
    session.execute(
        delete(RedactedText)
        .where(RedactedText.kind == kind, RedactedText.object_id.in_(object_ids))
        .execution_options(synchronize_session=False)
    )
    session.execute(
        delete(RedactionReview)
        .where(RedactionReview.kind == kind, RedactionReview.object_id.in_(object_ids))
        .execution_options(synchronize_session=False)
    )
    return len(keys)


def minimise_transfers(
    session: Session, blobs: BlobStore, school_id: int, pupil_ids: Collection[int]
) -> int:
    """Minimise every transfer of pupils whose files are gone; return how many."""
    if not pupil_ids:
        return 0
    transfers = session.scalars(
        select(Transfer).where(Transfer.school_id == school_id, Transfer.pupil_id.in_(pupil_ids))
    ).all()
    for transfer in transfers:
        keys = session.scalars(
            select(RedactionReview.redacted_storage_key).where(
                RedactionReview.transfer_id == transfer.id,
                RedactionReview.redacted_storage_key.is_not(None),
            )
        ).all()
        for storage_key in [*keys, transfer.bundle_storage_key, transfer.signed_form_storage_key]:
            delete_blob(blobs, storage_key)
        for model in (RedactedText, RedactionReview):
            session.execute(
                delete(model)
                .where(model.transfer_id == transfer.id)
                .execution_options(synchronize_session=False)
            )
        for model, column in ((TransferItem, "reason"), (TransferStep, "note")):
            session.execute(
                update(model)
                .where(model.transfer_id == transfer.id)
                .values({column: None})
                .execution_options(synchronize_session=False)
            )
        for name in CLEARED_TRANSFER_FIELDS:
            setattr(transfer, name, None)
        transfer.pupil_id = None
    session.flush()
    return len(transfers)
