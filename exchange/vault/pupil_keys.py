"""Per-pupil data keys: created on first use, wrapped under the current epoch, destroyable."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

from sqlalchemy import update
from sqlalchemy.orm import Session

from exchange.db import utcnow
from exchange.errors import CryptoError
from exchange.records.models import Pupil, PupilDataKey
from exchange.vault.crypto import new_key
from exchange.vault.epochs import KEY_DIR_INFO, epoch_keys
from exchange.vault.keyring import key_context_of, keyring


def key_context(pupil: Pupil) -> bytes:
    """Return the wrapping context that binds a data key to its school and pupil."""
    return key_context_of(pupil.school_id, pupil.id)


def blob_context(pupil: Pupil) -> bytes:
    """Return the prefix of the associated data for a pupil's blobs."""
    return f"sgx blob|school:{pupil.school_id}|pupil:{pupil.id}|".encode()


def pupil_data_key(session: Session, pupil: Pupil, instance_key: bytes) -> bytes:
    """Return the pupil's data key, creating and wrapping one on first use."""
    if pupil.id is None:
        session.flush()
    record = session.get(PupilDataKey, pupil.id)
    epochs = epoch_keys(session.info, instance_key)
    if record is None:
        key = new_key()
        wrapped, epoch = epochs.wrap(key, key_context(pupil))
        record = PupilDataKey(
            pupil_id=pupil.id,
            school_id=pupil.school_id,
            wrapped_key=wrapped,
            wrapping_epoch=epoch,
        )
        session.add(record)
        session.flush()
        return key
    if record.wrapped_key is None:
        raise CryptoError("this pupil's data key was destroyed; their documents are unreadable")
    return epochs.unwrap(record.wrapped_key, key_context(pupil), record.wrapping_epoch)


def destroy_pupil_key(session: Session, pupil: Pupil) -> bool:
    """Erase the wrapped key; after the next epoch rotation no backup can unwrap it either."""
    record = session.get(PupilDataKey, pupil.id)
    if record is None or record.wrapped_key is None:
        return False
    _owe_rotation(session)
    keyring(session).forget(pupil.id)
    record.wrapped_key = None
    record.destroyed_at = utcnow()
    session.flush()
    return True


def destroy_pupil_keys(session: Session, pupil_ids: Collection[int]) -> int:
    """Erase the wrapped keys of many pupils at once; return how many were still there."""
    if not pupil_ids:
        return 0
    _owe_rotation(session)
    ring = keyring(session)
    for pupil_id in pupil_ids:
        ring.forget(pupil_id)
    result = session.execute(
        update(PupilDataKey)
        .where(PupilDataKey.pupil_id.in_(pupil_ids), PupilDataKey.wrapped_key.is_not(None))
        .values(wrapped_key=None, destroyed_at=utcnow())
    )
    return result.rowcount or 0


def _owe_rotation(session: Session) -> None:
    """Mark, before the destruction commits, that the wrapping epoch must rotate after it."""
    directory = session.info.get(KEY_DIR_INFO)
    if directory is not None:
        from exchange.vault.rotation import mark_pending

        mark_pending(Path(str(directory)))
