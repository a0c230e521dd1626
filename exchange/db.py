"""Database engine, sessions and the declarative base with a constraint naming convention."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, MetaData, create_engine, event
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base for every table of the service."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    """Return the current time in UTC, timezone-aware."""
    return datetime.now(UTC)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine; SQLite gets foreign keys on and a busy timeout."""
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {"timeout": 30})
    else:
        # After a database restart, test each pooled connection before use instead of failing.
        kwargs.setdefault("pool_pre_ping", True)
    engine = create_engine(url, future=True, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def lock_for_writing(session: Session) -> None:
    """On SQLite, open the session's transaction with the write lock taken (BEGIN IMMEDIATE).

    A deferred transaction that has read cannot wait for the lock when it comes to write: if
    another connection committed in between, SQLite fails it at once ("database is locked")
    instead of calling the busy handler. Taking the lock first makes concurrent writers queue
    on the busy timeout. Only for short requests that will write: a transaction that holds
    the lock across a call to another school on this instance would block that school.
    """
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        return  # PostgreSQL's row locks already make writers wait.
    if not connection.connection.driver_connection.in_transaction:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_session_factory(
    engine: Engine,
    instance_key: Callable[[], bytes] | None = None,
    wrapping_key_dir: Path | None = None,
) -> sessionmaker[Session]:
    """Return a session factory bound to the engine; its sessions seal with instance_key.

    wrapping_key_dir is the instance's directory of wrapping-key epochs (exchange.vault.epochs).
    """
    info: dict[str, object] = {} if instance_key is None else {"instance_key_source": instance_key}
    if wrapping_key_dir is not None:
        info["wrapping_key_dir"] = wrapping_key_dir
    return sessionmaker(bind=engine, expire_on_commit=False, future=True, info=info)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """Open a session, commit at the end, roll back on any error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
