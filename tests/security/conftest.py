"""Fixtures for the security tests: the web world (two schools, every role) and the app."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

sys.path.insert(0, str(Path(__file__).parents[1] / "web"))
sys.path.insert(0, str(Path(__file__).parent))

from web_kit import World, make_app, make_world

from exchange.instance import Instance


@pytest.fixture
def world(instance: Instance) -> World:
    """Two schools that trust each other, with a user in every role."""
    return make_world(instance)


@pytest.fixture
def app(instance: Instance) -> Iterator[Flask]:
    """Return the web app, with queued tasks run inline."""
    yield from make_app(instance)
