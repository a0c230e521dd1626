"""Crypto-shredding that survives backups: wrapping-key epochs rotated after each purge."""

from __future__ import annotations

import secrets
import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from exchange.audit.models import AuditEntry
from exchange.db import make_engine, make_session_factory
from exchange.errors import CryptoError, ExchangeError
from exchange.instance import Instance, open_instance
from exchange.migrate import upgrade
from exchange.packaging.cli_keys import keys
from exchange.records.models import Incident, PupilDataKey
from exchange.retention.purge import purge_school, rotate_wrapping_key
from exchange.vault.crypto import new_key, wrap_key
from exchange.vault.epochs import EpochKeys
from exchange.vault.keyring import key_context_of
from exchange.vault.rotation import rewrap_from
from exchange.vault.sealing import open_value
from tests.retention.support import World, add_incident, add_pupil, date_all

PURGED_MARKER = "bramble-lantern-heron-9120"
KEPT_MARKER = "copper-kettle-wren-3381"


def _files(path: Path) -> list[Path]:
    return [candidate for candidate in (path, Path(f"{path}-wal")) if candidate.exists()]


def _copy_database(source: Path, folder: Path) -> Path:
    folder.mkdir()
    for path in _files(source):
        shutil.copy2(path, folder / path.name)
    return folder / source.name


def _key_row(path: Path, pupil_id: int) -> tuple[int, bytes | None, int | None]:
    engine = make_engine(f"sqlite:///{path}")
    table = PupilDataKey.__table__
    with engine.connect() as connection:
        row = connection.execute(
            select(table.c.school_id, table.c.wrapped_key, table.c.wrapping_epoch).where(
                table.c.pupil_id == pupil_id
            )
        ).one()
    engine.dispose()
    return row[0], row[1], row[2]


def _raw_narrative(path: Path, incident_id: int) -> bytes:
    engine = make_engine(f"sqlite:///{path}")
    table = Incident.__table__
    with engine.connect() as connection:
        raw = connection.execute(
            select(table.c.narrative).where(table.c.id == incident_id)
        ).scalar_one()
    engine.dispose()
    return raw


def _narrative(instance: Instance, world: World, pupil_id: int, incident_id: int, raw: bytes):  # type: ignore[no-untyped-def]
    with instance.sessions() as session:
        return open_value(
            session, Incident, "narrative", world.school.id, pupil_id, incident_id, raw
        )


@pytest.fixture
def purged_and_kept(
    rinstance: Instance, world: World, session: Session
) -> tuple[int, int, int, int]:
    """A child due for destruction and one kept, each with a marked narrative; committed."""
    if rinstance.engine.dialect.name != "sqlite":
        pytest.skip("copies the SQLite file and its WAL")
    purged = add_pupil(session, world, date(2000, 4, 1))
    kept = add_pupil(session, world, date(2015, 4, 1))
    gone = add_incident(session, world, purged, ("Bullying",), f"{PURGED_MARKER} at the gate")
    stays = add_incident(session, world, kept, ("Bullying",), f"{KEPT_MARKER} in the hall")
    date_all(session, world, purged, kept)
    session.commit()
    return purged.id, gone.id, kept.id, stays.id


def _purge_and_rotate(instance: Instance, world: World) -> None:
    result = purge_school(
        instance.sessions,
        instance.blobs,
        instance.instance_key,
        world.school.id,
        now=datetime(2025, 6, 1, 12, tzinfo=UTC),
    )
    assert result.totals["keys_destroyed"] == 1
    assert rotate_wrapping_key(instance.sessions, instance.instance_key) == 2


def test_a_backup_from_before_the_purge_cannot_open_the_purged_child(
    rinstance: Instance, world: World, purged_and_kept: tuple[int, int, int, int], tmp_path: Path
) -> None:
    purged_id, gone_id, kept_id, stays_id = purged_and_kept
    epochs = EpochKeys(rinstance.wrapping_key_dir, rinstance.instance_key)
    assert epochs.epochs() == [1]
    live_path = Path(rinstance.engine.url.database or "")
    backup = _copy_database(live_path, tmp_path / "backup")
    assert _key_row(backup, purged_id)[2] == 1

    _purge_and_rotate(rinstance, world)

    assert epochs.epochs() == [2]
    assert not (rinstance.wrapping_key_dir / "epoch-000001.key").exists()
    with rinstance.sessions() as session:
        (entry,) = session.scalars(
            select(AuditEntry).where(AuditEntry.event == "keys.wrapping_rotated")
        )
        assert b'"keys_under_epoch":1' in entry.canonical
    # The backup still holds the purged child's wrapped key, under epoch 1, which is gone:
    # with the instance's key directory and the instance key, it does not open.
    school_id, wrapped, epoch = _key_row(backup, purged_id)
    assert wrapped is not None
    assert epoch == 1
    fresh = EpochKeys(rinstance.wrapping_key_dir, rinstance.instance_key)
    with pytest.raises(CryptoError, match="epoch 1 was destroyed"):
        fresh.unwrap(wrapped, key_context_of(school_id, purged_id), epoch)
    raw = _raw_narrative(backup, gone_id)
    assert raw.startswith(b"SGXF1")
    copied = b"".join(path.read_bytes() for path in backup.parent.iterdir())
    live = b"".join(path.read_bytes() for path in _files(live_path))
    for marker in (PURGED_MARKER, KEPT_MARKER):
        assert marker.encode() not in copied
        assert marker.encode() not in live
    # The surviving child is read as before in the live database, under epoch 2.
    assert _key_row(live_path, kept_id)[2] == 2
    kept_raw = _raw_narrative(live_path, stays_id)
    assert _narrative(rinstance, world, kept_id, stays_id, kept_raw).startswith(KEPT_MARKER)


def _purge_then_restore(
    rinstance: Instance, world: World, tmp_path: Path
) -> tuple[Path, Path, Path, Instance]:
    """Back up, purge and rotate, then restore the backup; return backup, live, restored paths
    and the restored instance (the caller closes it)."""
    live_path = Path(rinstance.engine.url.database or "")
    backup = _copy_database(live_path, tmp_path / "backup")
    _purge_and_rotate(rinstance, world)
    restored_path = _copy_database(backup, tmp_path / "restored")
    restored = open_instance({**rinstance.config, "DATABASE_URL": f"sqlite:///{restored_path}"})
    return backup, live_path, restored_path, restored


def test_restoring_the_backup_re_attaches_the_survivors_only(
    rinstance: Instance, world: World, purged_and_kept: tuple[int, int, int, int], tmp_path: Path
) -> None:
    purged_id, gone_id, kept_id, stays_id = purged_and_kept
    _backup, live_path, restored_path, restored = _purge_then_restore(rinstance, world, tmp_path)
    later = _copy_database(live_path, tmp_path / "later")  # The live database's key table.
    try:
        assert restored.wrapping_key_dir == rinstance.wrapping_key_dir
        kept_raw = _raw_narrative(restored_path, stays_id)
        with pytest.raises(CryptoError):  # Restored as it was: under the destroyed epoch 1.
            _narrative(restored, world, kept_id, stays_id, kept_raw)
        result = CliRunner().invoke(
            keys, ["rewrap-from", str(later)], obj={"instance": restored}, catch_exceptions=False
        )
        assert result.exit_code == 0, result.output
        assert "1 pupil keys re-attached, 1 cleared" in result.output
        assert _narrative(restored, world, kept_id, stays_id, kept_raw).startswith(KEPT_MARKER)
        assert _key_row(restored_path, purged_id)[1] is None  # The purged child stays gone.
        with pytest.raises(CryptoError):
            _narrative(restored, world, purged_id, gone_id, _raw_narrative(restored_path, gone_id))
        again = CliRunner().invoke(keys, ["rewrap-from", str(later)], obj={"instance": restored})
        assert "0 pupil keys re-attached, 0 cleared" in again.output
        status = CliRunner().invoke(keys, ["wrapping"], obj={"instance": restored})
        assert "epochs on disk: [2]" in status.output
    finally:
        restored.close()


def test_a_rotation_cut_short_is_finished_by_the_next(
    rinstance: Instance, world: World, purged_and_kept: tuple[int, int, int, int]
) -> None:
    epochs = EpochKeys(rinstance.wrapping_key_dir, rinstance.instance_key)
    epochs.create_next()  # As if a rotation died after making epoch 2, before rewrapping.
    result = CliRunner().invoke(
        keys, ["rewrap"], obj={"instance": rinstance}, catch_exceptions=False
    )
    assert "epoch 3: 2 pupil keys rewrapped; epochs destroyed: [1, 2]" in result.output
    _purged_id, _gone_id, kept_id, stays_id = purged_and_kept
    live_path = Path(rinstance.engine.url.database or "")
    raw = _raw_narrative(live_path, stays_id)
    assert _narrative(rinstance, world, kept_id, stays_id, raw).startswith(KEPT_MARKER)


def test_migration_0026_moves_keys_from_the_instance_key_to_epoch_1(tmp_path: Path) -> None:
    instance_key = secrets.token_bytes(32)
    engine = make_engine(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    upgrade(engine, "0025")
    data_key = new_key()
    legacy = wrap_key(instance_key, data_key, key_context_of(1, 1))
    with engine.begin() as connection:
        moment = "2025-01-01 09:00:00.000000"
        connection.execute(
            text(
                "INSERT INTO schools (id, urn, laestab, name, settings, created_at)"
                " VALUES (1, '100001', '9000001', 'School', '{}', :at)"
            ),
            {"at": moment},
        )
        connection.execute(
            text(
                "INSERT INTO pupils (id, school_id, upn_index, created_at) VALUES (1, 1, :ix, :at)"
            ),
            {"ix": b"i" * 32, "at": moment},
        )
        connection.execute(
            text(
                "INSERT INTO pupil_data_keys (pupil_id, school_id, wrapped_key, created_at)"
                " VALUES (1, 1, :wrapped, :at)"
            ),
            {"wrapped": legacy, "at": moment},
        )
    with pytest.raises(RuntimeError, match="0026"):
        upgrade(engine, instance_key=lambda: instance_key)
    directory = tmp_path / "wrapping-keys"
    upgrade(engine, instance_key=lambda: instance_key, wrapping_key_dir=directory)
    with make_session_factory(engine, lambda: instance_key, directory)() as session:
        row = session.get(PupilDataKey, 1)
        assert row.wrapping_epoch == 1
        assert row.wrapped_key != legacy
    epochs = EpochKeys(directory, instance_key)
    assert epochs.unwrap(row.wrapped_key, key_context_of(1, 1), 1) == data_key
    engine.dispose()


def test_rewrap_from_refuses_a_database_that_is_not_a_later_copy(
    rinstance: Instance, world: World, purged_and_kept: tuple[int, int, int, int], tmp_path: Path
) -> None:
    purged_id, _gone_id, kept_id, _stays_id = purged_and_kept
    backup, _live_path, restored_path, restored = _purge_then_restore(rinstance, world, tmp_path)
    other = tmp_path / "other.sqlite3"
    other_engine = make_engine(f"sqlite:///{other}")
    upgrade(other_engine)  # Another service's database: migrated, with none of our schools.
    other_engine.dispose()
    not_a_database = tmp_path / "notes.txt"
    not_a_database.write_text("not a database\n" * 100)
    before = {pupil: _key_row(restored_path, pupil) for pupil in (purged_id, kept_id)}
    try:
        refusals = {
            str(backup): "re-attaches none of the 2 stale pupil keys",
            str(other): "is not this service's: school",
            str(not_a_database): "has no pupil key table",
            str(tmp_path / "no-such-folder" / "x.sqlite3"): "cannot open the later database",
        }
        urls = {f"sqlite:///{later}": reason for later, reason in refusals.items()}
        nobody_listens = "postgresql+psycopg://postgres@127.0.0.1:9/none?connect_timeout=5"
        urls[nobody_listens] = r"cannot open the later database \(connection"
        for url, reason in urls.items():
            with pytest.raises(ExchangeError, match=reason):
                rewrap_from(
                    restored.sessions,
                    restored.instance_key,
                    restored.wrapping_key_dir,
                    url,
                )
            assert {p: _key_row(restored_path, p) for p in before} == before  # Nothing changed.
        # When every stale child really was purged since, the operator says so and all clear.
        result = CliRunner().invoke(
            keys, ["rewrap-from", "--clear-all", str(backup)], obj={"instance": restored}
        )
        assert result.exit_code == 0, result.output
        assert "0 pupil keys re-attached, 2 cleared" in result.output
        assert all(_key_row(restored_path, p)[1] is None for p in before)
    finally:
        restored.close()
