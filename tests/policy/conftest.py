"""Fixtures for the policy tests: a session on the shared test instance and one school."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session

from exchange.instance import Instance
from exchange.records.models import School
from exchange.records.schools import add_school


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
