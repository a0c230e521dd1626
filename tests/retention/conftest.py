"""Fixtures: a test instance whose schema has the retention tables and columns."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import inspect
from sqlalchemy.orm import Session

import exchange.retention.models  # noqa: F401  (register the retention tables)
from exchange.db import Base
from exchange.instance import Instance, open_instance
from tests.retention.support import World, build_world


def _has_retention_schema(instance: Instance) -> bool:
    inspector = inspect(instance.engine)
    columns = {column["name"] for column in inspector.get_columns("incidents")}
    return "retain_until" in columns and inspector.has_table("purge_runs")


@pytest.fixture
def rinstance(instance_config: dict[str, object], tmp_path: Path) -> Iterator[Instance]:
    """Return a test instance; until the migrations know retention, a create_all SQLite one."""
    opened = open_instance(instance_config)
    if not _has_retention_schema(opened):
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
