"""Fixtures for the audit tests: a database with the schools and audit tables, and keys."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from exchange.db import make_engine, make_session_factory
from tests.audit.support import POSTGRES_URL, add_school, create_audit_schema


@pytest.fixture
def sqlite_file(tmp_path: Path) -> str:
    """Return the URL of an empty SQLite file database."""
    return f"sqlite:///{tmp_path / 'audit.sqlite3'}"


@pytest.fixture
def engine(sqlite_file: str) -> Iterator[Engine]:
    """Return an engine on a file SQLite database with the audit schema, without triggers."""
    engine = make_engine(sqlite_file)
    create_audit_schema(engine, triggers=False)
    yield engine
    engine.dispose()


@pytest.fixture
def factory(engine: Engine) -> sessionmaker[Session]:
    """Return a session factory on the audit database."""
    return make_session_factory(engine)


@pytest.fixture
def school_id(factory: sessionmaker[Session]) -> int:
    """Return the id of a school in the audit database."""
    return add_school(factory)


@pytest.fixture
def signing_key() -> Ed25519PrivateKey:
    """Return a fresh Ed25519 signing key."""
    return Ed25519PrivateKey.generate()


@pytest.fixture
def postgres_engine() -> Iterator[Engine]:
    """Return an engine on a fresh PostgreSQL database with the audit schema and triggers."""
    if not POSTGRES_URL.startswith("postgresql"):
        pytest.skip("set EXCHANGE_TEST_DATABASE_URL=postgresql://... to run on PostgreSQL")
    name = f"sgx_audit_{secrets.token_hex(6)}"
    base = make_url(POSTGRES_URL).set(drivername="postgresql+psycopg")
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(base.set(database=name).render_as_string(hide_password=False))
    create_audit_schema(engine, triggers=True)
    yield engine
    engine.dispose()
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()
