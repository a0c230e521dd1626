"""Fixtures for the policy tests: a session on the shared test instance and one school."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session

from exchange.instance import Instance, open_instance
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


@pytest.fixture
def cli_env(instance_config: dict[str, object], opened_by_cli: list[Instance]) -> dict[str, str]:
    """Return the environment that points `exchange` at the test instance."""
    return {
        "EXCHANGE_HOME": str(instance_config["HOME"]),
        "EXCHANGE_DATABASE_URL": str(instance_config["DATABASE_URL"]),
        "EXCHANGE_INSTANCE_KEY": str(instance_config["INSTANCE_KEY"]),
        "EXCHANGE_LOG_LEVEL": "WARNING",
    }


@pytest.fixture
def opened_by_cli(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Instance]]:
    """Record the instances `exchange` opens, and close them after the test.

    The root command does not close its instance yet, which leaves PostgreSQL connections
    to the garbage collector (a ResourceWarning, an error here).
    """
    opened: list[Instance] = []

    def tracking_open(*args: object, **kwargs: object) -> Instance:
        instance = open_instance(*args, **kwargs)  # type: ignore[arg-type]
        opened.append(instance)
        return instance

    monkeypatch.setattr("exchange.cli.open_instance", tracking_open)
    yield opened
    for instance in opened:
        instance.close()
