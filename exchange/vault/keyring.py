"""The field keys of one database session, found by pupil id and kept for the session only."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, insert, literal, select
from sqlalchemy.orm import Session

from exchange.db import utcnow
from exchange.errors import CryptoError
from exchange.vault.crypto import new_key
from exchange.vault.epochs import EpochKeys, epoch_keys
from exchange.vault.fields import field_key

KEY_SOURCE = "instance_key_source"
BEFORE_EPOCHS = "before_wrapping_epochs"
_RING = "sealing_keyring"


def key_context_of(school_id: int, pupil_id: int) -> bytes:
    """Return the wrapping context of a pupil's data key (as pupil_keys.key_context)."""
    return f"sgx pupil key v1|school:{school_id}|pupil:{pupil_id}".encode()


class Keyring:
    """Field keys by pupil id, unwrapped once per session; never logged."""

    def __init__(
        self, source: Callable[[], bytes] | None, info: dict[str, object] | None = None
    ) -> None:
        """Keep the instance key source and the session's info; unwrap nothing yet."""
        self._source = source
        self._info: dict[str, object] = {} if info is None else info
        self._keys: dict[int, bytes] = {}
        self.incident_pupils: dict[int, int] = {}
        self.transfer_pupils: dict[int, int | None] = {}
        self.unstored: list[dict[str, Any]] = []

    def __repr__(self) -> str:
        """Say nothing of the keys."""
        return f"Keyring({len(self._keys)} pupils)"

    @property
    def instance_key(self) -> bytes:
        """Return the instance key, or fail when this session was opened without one."""
        if self._source is None:
            raise CryptoError("this database session has no instance key to seal fields with")
        return self._source()

    def field_key(
        self, connection: Connection, school_id: int, pupil_id: int, *, create: bool = False
    ) -> bytes:
        """Return the pupil's field key; create their data key on a first write if asked."""
        key = self._keys.get(pupil_id)
        if key is None:
            data_key = self._data_key(connection, school_id, pupil_id, create)
            key = self._keys[pupil_id] = field_key(data_key)
        return key

    def epochs(self) -> EpochKeys:
        """Return the wrapping keys of this session's key directory."""
        return epoch_keys(self._info, self.instance_key)

    def new_field_key(self, school_id: int, pupil_id: int) -> bytes:
        """Make a data key for a pupil row not inserted yet; store_new_keys() saves it."""
        key = new_key()
        wrapped, epoch = self.epochs().wrap(key, key_context_of(school_id, pupil_id))
        self.unstored.append(
            {
                "pupil_id": pupil_id,
                "school_id": school_id,
                "wrapped_key": wrapped,
                "wrapping_epoch": epoch,
            }
        )
        self._keys[pupil_id] = field_key(key)
        return self._keys[pupil_id]

    def store_new_keys(self, connection: Connection) -> None:
        """Insert the data keys new_field_key() made, once their pupils are inserted."""
        from exchange.records.models import PupilDataKey

        if self.unstored:
            moment = utcnow()
            rows = [{**row, "created_at": moment} for row in self.unstored]
            connection.execute(insert(PupilDataKey.__table__), rows)
        self.unstored = []

    def forget(self, pupil_id: int) -> None:
        """Drop a pupil's key from this session (their key is being destroyed)."""
        self._keys.pop(pupil_id, None)

    def _data_key(
        self, connection: Connection, school_id: int, pupil_id: int, create: bool
    ) -> bytes:
        from exchange.records.models import PupilDataKey

        table = PupilDataKey.__table__
        # Before migration 0026 (when 0011 runs) there is no epoch column: the instance key.
        legacy = self._info.get(BEFORE_EPOCHS) is True
        epoch_column = literal(None) if legacy else table.c.wrapping_epoch
        row = connection.execute(
            select(table.c.wrapped_key, epoch_column).where(table.c.pupil_id == pupil_id)
        ).first()
        context = key_context_of(school_id, pupil_id)
        if row is None and not create:
            raise CryptoError("this pupil has no data key; their records are unreadable")
        if row is None:
            key = new_key()
            wrapped, epoch = self.epochs().wrap(key, context)
            values = {"pupil_id": pupil_id, "school_id": school_id, "wrapped_key": wrapped}
            if not legacy:
                values["wrapping_epoch"] = epoch
            connection.execute(insert(table).values(**values, created_at=utcnow()))
            return key
        if row[0] is None:
            raise CryptoError("this pupil's data key was destroyed; their records are unreadable")
        return self.epochs().unwrap(row[0], context, row[1])


def keyring(session: Session) -> Keyring:
    """Return the session's keyring, made on first use from the instance key source."""
    ring: Any = session.info.get(_RING)
    if ring is None:
        ring = session.info[_RING] = Keyring(session.info.get(KEY_SOURCE), session.info)
    return ring
