"""The acting-user index the DPO's explorer filters by: written on append, back-filled once."""

from __future__ import annotations

import importlib

from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session, sessionmaker

from exchange.audit import service
from exchange.audit.models import AuditEntryActor
from tests.audit.support import add_school, append

backfill = importlib.import_module("exchange.migrations.versions.0025_audit_entry_actors")


def _indexed(factory: sessionmaker[Session]) -> list[tuple[int, int, int]]:
    with factory() as session:
        query = select(AuditEntryActor.school_id, AuditEntryActor.user_id, AuditEntryActor.entry_id)
        return sorted(tuple(row) for row in session.execute(query))


def test_each_append_indexes_its_user_and_the_service_is_not_indexed(
    engine: Engine, factory: sessionmaker[Session]
) -> None:
    school = add_school(factory)
    append(factory, school, 3)
    with factory() as session:
        service.record_event(session, school, None, "system", "purge.ran", "school", school)
        session.commit()
    indexed = _indexed(factory)
    assert [(school_id, user) for school_id, user, _ in indexed] == [(school, 7)] * 3


def test_the_migration_back_fills_the_index_from_the_canonical_bytes(
    engine: Engine, factory: sessionmaker[Session]
) -> None:
    first, second = add_school(factory, 1), add_school(factory, 2)
    append(factory, first, 4)
    append(factory, second, 2)
    before = _indexed(factory)
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_entry_actors"))
    with engine.begin() as connection:
        backfill._fill(connection, AuditEntryActor.__table__)
    assert _indexed(factory) == before
    assert len(before) == 6


def test_an_unreadable_entry_is_skipped_by_the_back_fill() -> None:
    assert backfill._actor_user(b"not json") is None
    assert backfill._actor_user(b'{"actor": "x"}') is None
    assert backfill._actor_user(b'{"actor": {"user": "12", "role": "dpo"}}') == 12
    assert backfill._actor_user(b'{"actor": {"user": null, "role": "system"}}') is None
