"""Shared fixtures: a fresh migrated database per test (SQLite, or PostgreSQL when asked)."""

from __future__ import annotations

import base64
import os
import secrets
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import settings
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from exchange.db import make_engine
from exchange.instance import Instance, open_instance
from exchange.migrate import upgrade

POSTGRES_URL = os.environ.get("EXCHANGE_TEST_DATABASE_URL", "")
BROKER_URL = os.environ.get("EXCHANGE_TEST_BROKER_URL", "")

# Every run draws the same Hypothesis examples, so a failure in CI can be run again;
# SGX_HYPOTHESIS_PROFILE=search draws new ones each run (and remembers what failed).
settings.register_profile("fixed", derandomize=True, database=None)
settings.register_profile("search", derandomize=False)
settings.load_profile(os.environ.get("SGX_HYPOTHESIS_PROFILE", "fixed"))


def on_postgres() -> bool:
    """Return whether this run uses PostgreSQL."""
    return POSTGRES_URL.startswith("postgres")


def _admin_engine():  # type: ignore[no-untyped-def]
    url = make_url(POSTGRES_URL).set(drivername="postgresql+psycopg")
    return create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="session")
def template_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Migrate one template database per run; each test copies it."""
    if on_postgres():
        name = f"sgx_template_{secrets.token_hex(4)}"
        admin = _admin_engine()
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(POSTGRES_URL).set(drivername="postgresql+psycopg", database=name)
        engine = make_engine(url.render_as_string(hide_password=False))
        upgrade(engine)
        engine.dispose()
        yield name
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
        return
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    yield str(path)


@pytest.fixture
def new_database(template_database: str, tmp_path: Path) -> Iterator[Callable[[], str]]:
    """Return a maker of fresh, migrated databases for this test; drop them afterwards."""
    made: list[str] = []

    def make() -> str:
        name = f"sgx_test_{secrets.token_hex(6)}"
        made.append(name)
        if on_postgres():
            admin = _admin_engine()
            with admin.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template_database}"'))
            admin.dispose()
            url = make_url(POSTGRES_URL).set(drivername="postgresql+psycopg", database=name)
            return url.render_as_string(hide_password=False)
        path = tmp_path / f"{name}.sqlite3"
        shutil.copyfile(template_database, path)
        return f"sqlite:///{path}"

    yield make
    if on_postgres() and made:
        admin = _admin_engine()
        with admin.connect() as connection:
            for name in made:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def database_url(new_database: Callable[[], str]) -> str:
    """Return the URL of a fresh, migrated database for this test."""
    return new_database()


@pytest.fixture(scope="session")
def instance_key_b64() -> str:
    """Return a generated instance key for this test run."""
    return base64.b64encode(secrets.token_bytes(32)).decode()


@pytest.fixture
def instance_config(tmp_path: Path, database_url: str, instance_key_b64: str) -> dict[str, object]:
    """Return settings for a test instance in its own folder."""
    config: dict[str, object] = {
        "HOME": tmp_path / "home",
        "DATABASE_URL": database_url,
        "INSTANCE_KEY": instance_key_b64,
        "LOG_FORMAT": "json",
    }
    if BROKER_URL:
        config["BROKER_URL"] = BROKER_URL
        config["TASK_QUEUE"] = f"test-{secrets.token_hex(4)}"
    return config


@pytest.fixture
def instance(instance_config: dict[str, object]) -> Iterator[Instance]:
    """Return an opened test instance on a fresh database."""
    opened = open_instance(instance_config)
    yield opened
    opened.close()


@pytest.fixture
def cli_env(instance_config: dict[str, object]) -> dict[str, str]:
    """Return the environment that points the `exchange` command at the test instance."""
    environment = {f"EXCHANGE_{key}": str(value) for key, value in instance_config.items()}
    environment["EXCHANGE_LOG_LEVEL"] = "WARNING"
    return environment
