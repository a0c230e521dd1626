"""Rotate the wrapping-key epoch after a purge; re-attach survivors' keys after a restore.

Rotation: write a marker, create the next epoch, rewrap every surviving pupil key under it
(committed in chunks, resumable), then overwrite and remove every older epoch's file and the
marker. It runs under an instance-wide lease, so two purges never rotate at once. The work is
O(surviving pupils): one unwrap and one wrap (AES-GCM of 32 bytes) and one UPDATE each.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import (
    Connection,
    Engine,
    MetaData,
    Table,
    bindparam,
    create_engine,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.exc import DatabaseError, NoSuchTableError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from exchange.db import transaction, utcnow
from exchange.errors import CryptoError, ExchangeError
from exchange.logs import get_logger
from exchange.records.models import PupilDataKey, School
from exchange.retention import lease
from exchange.vault.epochs import KEY_DIR_INFO, ROTATION_PENDING, EpochKeys
from exchange.vault.keyring import key_context_of

log = get_logger(__name__)
LEASE = "wrapping-epoch"
CHUNK = 1_000


@dataclass
class Rotation:
    """What a rotation did: the new epoch, keys rewrapped, epochs destroyed."""

    epoch: int
    rewrapped: int = 0
    destroyed: list[int] = field(default_factory=list)


def key_dir_of(factory: sessionmaker[Session]) -> Path | None:
    """Return the wrapping-key directory the factory's sessions use, if any."""
    directory = factory.kw.get("info", {}).get(KEY_DIR_INFO)
    return None if directory is None else Path(directory)


def mark_pending(directory: Path) -> None:
    """Note that a rotation is owed (keys are being destroyed).

    One marker per destruction: a rotation clears only the markers it saw when it started,
    so keys destroyed while it runs (and perhaps already rewrapped under its new epoch, in a
    backup taken meanwhile) are owed the next rotation.
    """
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    (directory / f"{ROTATION_PENDING}-{secrets.token_hex(8)}").touch()


def pending_markers(directory: Path) -> list[Path]:
    """Return the markers of rotations owed."""
    if not directory.is_dir():
        return []
    return [path for path in directory.iterdir() if path.name.startswith(ROTATION_PENDING)]


def _rewrap_all(factory: sessionmaker[Session], epochs: EpochKeys, target: int) -> int:
    """Rewrap every key not under target, a chunk per transaction; return how many."""
    table = PupilDataKey.__table__
    waiting = table.c.wrapped_key.is_not(None) & or_(
        table.c.wrapping_epoch.is_(None), table.c.wrapping_epoch != target
    )
    statement = (
        update(table)
        .where(table.c.pupil_id == bindparam("pid"))
        .values(wrapped_key=bindparam("wrapped"), wrapping_epoch=target)
    )
    done, last = 0, 0
    while True:
        with transaction(factory) as session:
            rows = session.execute(
                select(
                    table.c.pupil_id, table.c.school_id, table.c.wrapped_key, table.c.wrapping_epoch
                )
                .where(waiting, table.c.pupil_id > last)
                .order_by(table.c.pupil_id)
                .limit(CHUNK)
            ).all()
            if not rows:
                return done
            changes = []
            for pupil_id, school_id, wrapped, epoch in rows:
                context = key_context_of(school_id, pupil_id)
                key = epochs.unwrap(wrapped, context, epoch)
                changes.append({"pid": pupil_id, "wrapped": _wrap(epochs, target, key, context)})
            session.connection().execute(statement, changes)
            done, last = done + len(rows), rows[-1][0]


def _wrap(epochs: EpochKeys, epoch: int, key: bytes, context: bytes) -> bytes:
    from exchange.vault.crypto import wrap_key
    from exchange.vault.epochs import pupil_key_context

    return wrap_key(epochs.key(epoch), key, pupil_key_context(context, epoch))


def _audit(
    factory: sessionmaker[Session], role: str, event: str, object_id: str, per_school: dict
) -> None:
    """Record the step in the audit log of every school it touched (counts only)."""
    from exchange.audit.service import record_event

    with transaction(factory) as session:
        for school_id, details in sorted(per_school.items()):
            record_event(
                session, school_id, None, role, event, "wrapping_epoch", object_id,
                details=details,
            )  # fmt: skip


def _keys_by_school(factory: sessionmaker[Session], epoch: int) -> dict[int, dict[str, int]]:
    table = PupilDataKey.__table__
    with factory() as session:
        rows = session.execute(
            select(table.c.school_id, func.count())
            .where(table.c.wrapping_epoch == epoch, table.c.wrapped_key.is_not(None))
            .group_by(table.c.school_id)
        ).all()
    return {school_id: {"keys_under_epoch": int(count)} for school_id, count in rows}


def rotate(
    factory: sessionmaker[Session], instance_key: bytes, directory: Path, role: str = "system"
) -> Rotation:
    """Move every pupil key to a new epoch, then destroy the older epochs' files.

    Audited in each school's log (keys.wrapping_rotated: the epoch, the keys now under it,
    the epochs destroyed) as role: the system after a purge, the operator by hand.
    """
    owner = lease.new_owner()
    if not lease.acquire(factory, LEASE, owner):
        raise ExchangeError("another process is rotating the wrapping key; try again later")
    try:
        owed = pending_markers(directory)
        epochs = EpochKeys(directory, instance_key)
        target = epochs.create_next()
        result = Rotation(target)
        result.rewrapped = _rewrap_all(factory, epochs, target)
        # Keys another process wrapped under an older epoch meanwhile: rewrap them too.
        result.rewrapped += _rewrap_all(factory, epochs, target)
        for epoch in epochs.epochs():
            if epoch < target and epochs.destroy(epoch):
                result.destroyed.append(epoch)
        for marker in owed:
            marker.unlink(missing_ok=True)
        audit = _keys_by_school(factory, target)
        for details in audit.values():
            details["epochs_destroyed"] = len(result.destroyed)
        _audit(factory, role, "keys.wrapping_rotated", str(target), audit)
        log.info(
            "wrapping key rotated",
            extra={"epoch": target, "rewrapped": result.rewrapped, "destroyed": result.destroyed},
        )
        return result
    finally:
        lease.release(factory, LEASE, owner)


def rotate_if_owed(factory: sessionmaker[Session], instance_key: bytes) -> Rotation | None:
    """Rotate when a purge destroyed keys since the last rotation (or one was cut short)."""
    directory = key_dir_of(factory)
    if directory is None or not pending_markers(directory):
        return None
    return rotate(factory, instance_key, directory)


@dataclass
class Reattached:
    """What rewrap-from did to the restored database's keys."""

    reattached: int = 0
    destroyed: int = 0
    already: int = 0


def rewrap_from(
    factory: sessionmaker[Session],
    instance_key: bytes,
    directory: Path,
    later: Engine | str,
    *,
    clear_all: bool = False,
) -> Reattached:
    """Re-attach survivors' keys from a later database's pupil key table, after a restore.

    A pupil of the restored database whose key is under an epoch that no longer exists gets
    the later database's wrapped key when the later one is readable under a current epoch;
    when the later database no longer holds it (purged since), the restored key is cleared,
    so that child stays unreadable. Keys readable as they are stay untouched.

    Clearing a key cannot be undone, so nothing changes when the later database is not this
    service's (a school's URN differs), or when it would re-attach none of the stale keys
    (an older backup, or another copy), unless `clear_all` says every one was purged since.
    """
    engine = create_engine(later) if isinstance(later, str) else later
    try:
        source = Table("pupil_data_keys", MetaData(), autoload_with=engine)
        schools = Table("schools", MetaData(), autoload_with=engine)
    except OperationalError as error:
        reason = str(error.orig).strip().splitlines()[0] if error.orig else type(error).__name__
        raise ExchangeError(
            f"cannot open the later database ({reason}); nothing was changed"
        ) from error
    except (NoSuchTableError, DatabaseError) as error:
        raise ExchangeError(
            "the later database has no pupil key table: give the URL or SQLite file of this "
            "service's database from after the backup"
        ) from error
    epochs = EpochKeys(directory, instance_key)
    live = set(epochs.epochs())
    result = Reattached()
    table = PupilDataKey.__table__
    with transaction(factory) as session:
        rows = session.execute(
            select(table.c.pupil_id, table.c.school_id, table.c.wrapping_epoch).where(
                table.c.wrapped_key.is_not(None)
            )
        ).all()
        stale = {r.pupil_id: r.school_id for r in rows if r.wrapping_epoch not in live}
        result.already = len(rows) - len(stale)
        found: dict[int, tuple[int, bytes, int]] = {}
        with engine.connect() as connection:
            ids = sorted(stale)
            for start in range(0, len(ids), CHUNK):
                chunk = ids[start : start + CHUNK]
                for pupil_id, school_id, wrapped, epoch in connection.execute(
                    select(
                        source.c.pupil_id,
                        source.c.school_id,
                        source.c.wrapped_key,
                        source.c.wrapping_epoch,
                    ).where(source.c.pupil_id.in_(chunk))
                ):
                    if wrapped is not None and epoch in live and school_id == stale[pupil_id]:
                        found[pupil_id] = (school_id, bytes(wrapped), epoch)
            _check_same_service(session, connection, schools, set(stale.values()))
        if stale and not found and not clear_all:
            raise ExchangeError(
                f"the later database re-attaches none of the {len(stale)} stale pupil keys, "
                "so it is not a later copy of this database (or every one of those children "
                "was purged since: then run again with --clear-all); nothing was changed"
            )
        for pupil_id, school_id in stale.items():
            if pupil_id in found:
                _, wrapped, epoch = found[pupil_id]
                try:
                    epochs.unwrap(wrapped, key_context_of(school_id, pupil_id), epoch)
                except CryptoError:
                    found.pop(pupil_id)
            values = (
                {"wrapped_key": found[pupil_id][1], "wrapping_epoch": found[pupil_id][2]}
                if pupil_id in found
                else {"wrapped_key": None, "destroyed_at": utcnow()}
            )
            session.execute(update(table).where(table.c.pupil_id == pupil_id).values(**values))
            if pupil_id in found:
                result.reattached += 1
            else:
                result.destroyed += 1
    if isinstance(later, str):
        engine.dispose()
    per_school: dict[int, dict[str, int]] = {}
    for pupil_id, school_id in stale.items():
        counts = per_school.setdefault(school_id, {"reattached": 0, "cleared": 0})
        counts["reattached" if pupil_id in found else "cleared"] += 1
    _audit(factory, "operator", "keys.rewrapped_from_later", "restore", per_school)
    return result


def _check_same_service(
    session: Session, connection: Connection, schools: Table, school_ids: set[int]
) -> None:
    """Refuse a later database whose schools differ from ours (another service's copy)."""
    if not school_ids:
        return
    ours = dict(
        session.execute(select(School.id, School.urn).where(School.id.in_(school_ids))).all()
    )
    theirs = dict(
        connection.execute(
            select(schools.c.id, schools.c.urn).where(schools.c.id.in_(school_ids))
        ).all()
    )
    for school_id in sorted(school_ids):
        if theirs.get(school_id) != ours.get(school_id):
            raise ExchangeError(
                f"the later database is not this service's: school {school_id} is "
                f"{theirs.get(school_id) or 'missing'} there and {ours.get(school_id)} here; "
                "nothing was changed"
            )
