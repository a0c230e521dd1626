"""Migrations: they build the schema the models describe, and nothing is missing."""

from __future__ import annotations

import secrets
from datetime import date
from pathlib import Path

from sqlalchemy import select, text

from exchange.db import make_engine, make_session_factory
from exchange.migrate import is_current, pending_model_changes, upgrade
from exchange.records.models import Incident, Pupil
from exchange.records.sealed_reads import upn_is


def test_models_and_migrations_agree(database_url: str) -> None:
    engine = make_engine(database_url)
    assert is_current(engine)
    assert pending_model_changes(engine) == []
    engine.dispose()


def test_upgrading_twice_changes_nothing(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    assert pending_model_changes(engine) == []
    engine.dispose()


def test_migration_0011_seals_existing_rows(tmp_path: Path) -> None:
    key = secrets.token_bytes(32)
    engine = make_engine(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    upgrade(engine, "0010")
    moment = "2025-01-01 09:00:00.000000"
    with engine.begin() as connection:
        for statement in (
            "INSERT INTO schools (id, urn, laestab, name, settings, created_at)"
            " VALUES (1, '100001', '9000001', 'School', '{}', :at)",
            "INSERT INTO pupils (id, school_id, upn, forename, surname, other_names,"
            " date_of_birth, created_at) VALUES (1, 1, 'A900000124001', 'Tabitha',"
            " 'Quarrington', '[\"Tabs\"]', '2016-05-17', :at)",
            "INSERT INTO incidents (id, school_id, pupil_id, occurred_at, recorded_at,"
            " narrative, status, agencies, body_map) VALUES (1, 1, 1, :at, :at,"
            " 'Tabitha spoke about the lighthouse', 'open', '[]', 0)",
            "INSERT INTO incident_actions (id, school_id, incident_id, text, acted_at)"
            " VALUES (1, 1, 1, 'Rang the lighthouse keeper', :at)",
        ):
            connection.execute(text(statement), {"at": moment})
    upgrade(engine, instance_key=lambda: key, wrapping_key_dir=tmp_path / "wrapping-keys")
    with engine.connect() as connection:
        stored = b"".join(
            bytes(value)
            for row in connection.execute(
                text(
                    "SELECT forename, surname, upn, narrative, text FROM pupils, incidents,"
                    " incident_actions"
                )
            )
            for value in row
        )
    for secret in (b"Tabitha", b"lighthouse", b"A9000"):
        assert secret not in stored
    with make_session_factory(engine, lambda: key, tmp_path / "wrapping-keys")() as session:
        incident = session.get(Incident, 1)
        assert incident.narrative == "Tabitha spoke about the lighthouse"
        assert incident.actions[0].text == "Rang the lighthouse keeper"
        assert incident.pupil.other_names == ["Tabs"]
        assert incident.pupil.date_of_birth == date(2016, 5, 17)
        found = session.scalar(select(Pupil).where(upn_is(session, 1, "A900000124001")))
        assert found is incident.pupil
    assert pending_model_changes(engine) == []
    engine.dispose()
