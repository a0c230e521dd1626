"""A backup taken before a purge holds none of the pupil's case content in clear."""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from exchange.db import make_engine
from exchange.errors import CryptoError
from exchange.instance import Instance
from exchange.records.models import Incident
from exchange.retention.purge import purge_school
from exchange.vault.sealing import open_value
from tests.retention.support import World, add_incident, add_pupil, date_all

MARKER = "quince-harbour-cormorant-4471"


def _database_files(instance: Instance) -> list[Path]:
    path = Path(instance.engine.url.database or "")
    return [candidate for candidate in (path, Path(f"{path}-wal")) if candidate.exists()]


def test_a_backup_taken_before_the_purge_holds_no_content_in_clear(
    rinstance: Instance, world: World, session: Session, tmp_path: Path
) -> None:
    if rinstance.engine.dialect.name != "sqlite":
        pytest.skip("copies the SQLite file and its WAL")
    child = add_pupil(session, world, date(2000, 4, 1))
    incident = add_incident(session, world, child, ("Bullying",), f"{MARKER} at the gate")
    incident.actions[0].text = f"{MARKER} rang home"
    date_all(session, world, child)
    session.commit()
    secrets = [MARKER, child.forename, child.surname, child.upn]
    backup = tmp_path / "backup"
    backup.mkdir()
    for path in _database_files(rinstance):
        shutil.copy2(path, backup / path.name)

    result = purge_school(
        rinstance.sessions,
        rinstance.blobs,
        rinstance.instance_key,
        world.school.id,
        now=datetime(2025, 6, 1, 12, tzinfo=UTC),
    )
    assert result.totals["keys_destroyed"] == 1

    copied = b"".join(path.read_bytes() for path in backup.iterdir())
    live = b"".join(path.read_bytes() for path in _database_files(rinstance))
    for secret in secrets:
        assert secret.encode() not in copied, secret
        assert secret.encode() not in live, secret
    # The backup's sealed narrative needs the pupil's key, which the live database no
    # longer holds.
    raw = restored_raw(backup / Path(rinstance.engine.url.database or "").name, incident.id)
    assert raw.startswith(b"SGXF1")
    with rinstance.sessions() as fresh, pytest.raises(CryptoError, match="no data key"):
        open_value(fresh, Incident, "narrative", world.school.id, child.id, incident.id, raw)


def restored_raw(path: Path, incident_id: int) -> bytes:
    """Return the sealed narrative of an incident in a copied database."""
    engine = make_engine(f"sqlite:///{path}")
    with engine.connect() as connection:
        raw = connection.execute(
            select(Incident.__table__.c.narrative).where(Incident.__table__.c.id == incident_id)
        ).scalar_one()
    engine.dispose()
    return raw
