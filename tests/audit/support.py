"""Helpers shared by the audit tests: schema creation, schools, trigger checks."""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import Session, sessionmaker

from exchange.audit import service
from exchange.audit.models import AuditCheckpoint, AuditEntry, AuditEntryActor, AuditHead
from exchange.audit.triggers import install_append_only_trigger
from exchange.db import Base
from exchange.records.models import School

POSTGRES_URL = os.environ.get("EXCHANGE_TEST_DATABASE_URL", "")
AUDIT_TABLES = [
    School.__table__,
    AuditHead.__table__,
    AuditEntry.__table__,
    AuditEntryActor.__table__,
    AuditCheckpoint.__table__,
]


def create_audit_schema(engine: Engine, *, triggers: bool) -> None:
    """Create the schools and audit tables, with or without the append-only triggers."""
    Base.metadata.create_all(engine, tables=AUDIT_TABLES)
    if triggers:
        with engine.begin() as connection:
            install_append_only_trigger(connection)


def add_school(factory: sessionmaker[Session], number: int = 1) -> int:
    """Insert a school and return its id."""
    with factory() as session:
        school = School(urn=f"{100000 + number}", laestab=f"{1000000 + number}", name="School")
        session.add(school)
        session.commit()
        return school.id


def append(factory: sessionmaker[Session], school_id: int, count: int, start: int = 0) -> None:
    with factory() as session:
        for number in range(start, start + count):
            service.record_event(
                session,
                school_id,
                actor_user_id=7,
                actor_role="dsl",
                event="record.viewed",
                object_type="pupil",
                object_id=number,
                request_id=f"req-{number}",
                details={"n": number},
            )
        session.commit()


def rows(factory: sessionmaker[Session], school_id: int) -> list[AuditEntry]:
    with factory() as session:
        query = select(AuditEntry).where(AuditEntry.school_id == school_id)
        return list(session.scalars(query.order_by(AuditEntry.seq)))


def run_refused(engine: Engine, statement: str) -> str:
    with pytest.raises(DatabaseError) as info, engine.begin() as connection:
        connection.execute(text(statement))
    return str(info.value)


def check_triggers(engine: Engine, factory: Callable[[], Session], school_id: int) -> None:
    append(factory, school_id, 3)  # type: ignore[arg-type]
    with factory() as session:
        service.make_checkpoint(session, school_id, Ed25519PrivateKey.generate())
        session.commit()
    refused = [
        "UPDATE audit_entries SET canonical = canonical WHERE seq = 1",
        "DELETE FROM audit_entries WHERE seq = 2",
        "DELETE FROM audit_entries",
        "UPDATE audit_checkpoints SET size = 0",
        "DELETE FROM audit_checkpoints",
        "DELETE FROM audit_heads",
        "UPDATE audit_heads SET size = 1",
    ]
    for statement in refused:
        assert "append-only" in run_refused(engine, statement)
    append(factory, school_id, 1, start=3)  # type: ignore[arg-type]
    assert [r.seq for r in rows(factory, school_id)] == [0, 1, 2, 3]  # type: ignore[arg-type]
