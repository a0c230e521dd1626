"""The receiving side of a batch: offers from one school that name the same batch id."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from exchange.transfers.models import INCOMING, Transfer, TransferBatch


def join_incoming_batch(session: Session, transfer: Transfer, named: object) -> int | None:
    """Return the id of our incoming batch for the offer's `batch` member, made on first sight."""
    if not isinstance(named, dict):
        return None
    try:
        batch_uid = str(uuid.UUID(str(named.get("id"))))
    except ValueError:
        return None
    batch = session.scalar(
        select(TransferBatch).where(
            TransferBatch.school_id == transfer.school_id,
            TransferBatch.batch_uid == batch_uid,
        )
    )
    if batch is None:
        batch = TransferBatch(
            school_id=transfer.school_id,
            batch_uid=batch_uid,
            direction=INCOMING,
            source="offers",
            partner_id=transfer.partner_id,
            total=0,
            done=0,
        )
        session.add(batch)
        session.flush()
    elif batch.direction != INCOMING or batch.partner_id != transfer.partner_id:
        return None  # Another school's id, or our own: the offer stands alone.
    batch.total += 1
    return batch.id
