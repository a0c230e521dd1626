"""Migrations: they build the schema the models describe, and nothing is missing."""

from __future__ import annotations

from exchange.db import make_engine
from exchange.migrate import is_current, pending_model_changes, upgrade


def test_models_and_migrations_agree(database_url: str) -> None:
    engine = make_engine(database_url)
    assert is_current(engine)
    assert pending_model_changes(engine) == []
    engine.dispose()


def test_upgrading_twice_changes_nothing(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    assert pending_model_changes(engine) == []
    engine.dispose()
