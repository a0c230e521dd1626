"""Two appenders at once never fork the log or leave a gap (SQLite file, and PostgreSQL)."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import Session, sessionmaker

from exchange.audit import service
from exchange.audit.models import AuditEntry
from exchange.db import make_session_factory
from tests.audit.support import add_school, check_triggers

WORKERS = 4
PER_WORKER = 25


def hammer(factory: sessionmaker[Session], school_id: int, per_transaction: int) -> None:
    """Run WORKERS threads that each append PER_WORKER entries, several per transaction."""
    barrier = threading.Barrier(WORKERS)
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            barrier.wait()
            for batch in range(0, PER_WORKER, per_transaction):
                with factory() as session:
                    for number in range(batch, min(batch + per_transaction, PER_WORKER)):
                        service.record_event(
                            session,
                            school_id,
                            actor_user_id=worker,
                            actor_role="dsl",
                            event="record.viewed",
                            object_type="pupil",
                            object_id=f"{worker}-{number}",
                        )
                    session.commit()
        except BaseException as exc:  # Reported to the main thread below.
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors


def check_no_fork_no_gap(factory: sessionmaker[Session], school_id: int) -> None:
    with factory() as session:
        seqs = list(
            session.scalars(
                select(AuditEntry.seq)
                .where(AuditEntry.school_id == school_id)
                .order_by(AuditEntry.seq)
            )
        )
        objects = set(
            session.scalars(select(AuditEntry.object_id).where(AuditEntry.school_id == school_id))
        )
        assert seqs == list(range(WORKERS * PER_WORKER))
        assert len(objects) == WORKERS * PER_WORKER
        key = Ed25519PrivateKey.generate()
        service.make_checkpoint(session, school_id, key)
        report = service.verify_log(session, school_id, [key.public_key()])
        assert report.ok, report.lines()


@pytest.mark.parametrize("per_transaction", [1, 5])
def test_concurrent_appends_on_sqlite(
    factory: sessionmaker[Session], school_id: int, per_transaction: int
) -> None:
    hammer(factory, school_id, per_transaction)
    check_no_fork_no_gap(factory, school_id)


def test_first_appends_of_a_new_school_race_safely(factory: sessionmaker[Session]) -> None:
    school_id = add_school(factory, 3)
    hammer(factory, school_id, 1)
    check_no_fork_no_gap(factory, school_id)


@pytest.mark.parametrize("per_transaction", [1, 5])
def test_concurrent_appends_on_postgresql(postgres_engine: Engine, per_transaction: int) -> None:
    factory = make_session_factory(postgres_engine)
    school_id = add_school(factory)
    hammer(factory, school_id, per_transaction)
    check_no_fork_no_gap(factory, school_id)


def test_postgresql_trigger_refuses_update_delete_truncate(postgres_engine: Engine) -> None:
    factory: Callable[[], Session] = make_session_factory(postgres_engine)
    school_id = add_school(factory)  # type: ignore[arg-type]
    check_triggers(postgres_engine, factory, school_id)
    for table in ("audit_entries", "audit_checkpoints", "audit_heads"):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            postgres_engine.begin() as connection,
        ):
            connection.execute(text(f"TRUNCATE {table} CASCADE"))
