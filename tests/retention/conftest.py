"""Fixtures: a test instance whose schema has the retention tables and columns."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.orm import Session

import exchange.retention.models  # noqa: F401  (register the retention tables)
from exchange.db import Base
from exchange.instance import Instance, open_instance
from tests.retention.support import World, build_world


def _has_retention_schema(instance: Instance) -> bool:
    inspector = inspect(instance.engine)
    columns = {column["name"] for column in inspector.get_columns("incidents")}
    return "retain_until" in columns and inspector.has_table("purge_runs")


def _add_retention_schema(instance: Instance) -> None:
    """Add the retention tables and columns to a migrated PostgreSQL test database."""
    with instance.engine.begin() as connection:
        for table in ("incidents", "vault_documents"):
            connection.execute(
                text(
                    f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS retain_until DATE, "
                    "ADD COLUMN IF NOT EXISTS retention_rule VARCHAR(100)"
                )
            )
            connection.execute(
                text(
                    f"CREATE INDEX IF NOT EXISTS ix_{table}_retain_until ON {table} (retain_until)"
                )
            )
    Base.metadata.create_all(instance.engine)


@pytest.fixture
def rinstance(instance_config: dict[str, object], tmp_path: Path) -> Iterator[Instance]:
    """Return a test instance with the retention schema (added by hand until the migrations)."""
    opened = open_instance(instance_config)
    if not _has_retention_schema(opened) and opened.engine.dialect.name == "postgresql":
        _add_retention_schema(opened)
    elif not _has_retention_schema(opened):
        opened.close()
        config = {**instance_config, "DATABASE_URL": f"sqlite:///{tmp_path / 'retention.sqlite3'}"}
        opened = open_instance(config)
        Base.metadata.create_all(opened.engine)
    yield opened
    opened.close()


@pytest.fixture
def world(rinstance: Instance) -> World:
    """Return a committed school with keys, categories, a DSL and a DPO."""
    with rinstance.sessions() as session:
        built = build_world(session, rinstance)
        session.commit()
    return built


@pytest.fixture
def session(rinstance: Instance) -> Iterator[Session]:
    """Return a session on the instance, closed afterwards."""
    with rinstance.sessions() as opened:
        yield opened
