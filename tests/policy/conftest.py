"""Fixtures for the policy tests: a migrated instance in a temporary folder and one school."""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from exchange.instance import Instance, open_instance
from exchange.migrate import upgrade
from exchange.records.models import School
from exchange.records.schools import add_school


@pytest.fixture
def instance_key() -> str:
    """Return a fresh base64 instance key."""
    return base64.b64encode(os.urandom(32)).decode()


@pytest.fixture
def instance(tmp_path: Path, instance_key: str) -> Iterator[Instance]:
    """Open a migrated instance in a temporary folder."""
    opened = open_instance({"HOME": tmp_path / "home", "INSTANCE_KEY": instance_key})
    upgrade(opened.engine)
    yield opened
    opened.close()


@pytest.fixture
def session(instance: Instance) -> Iterator[Session]:
    """Yield a session that is rolled back at the end."""
    with instance.sessions() as opened:
        yield opened
        opened.rollback()


@pytest.fixture
def school(session: Session) -> School:
    """Add one school."""
    return add_school(session, "100001", "8881001", "Test Primary School")
