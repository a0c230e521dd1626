"""Fixtures for the demo tests: the generated demo, built once, and the CLI environment."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest

from exchange.demo.generate import DemoData, generate_demo
from exchange.instance import Instance, open_instance

TODAY = date(2026, 11, 23)


@pytest.fixture(scope="session")
def demo() -> DemoData:
    """Generate the demo once for the session, as of a fixed day."""
    return generate_demo(TODAY)


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
