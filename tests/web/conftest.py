"""Fixtures for the web service: two schools with every role, and the app."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

sys.path.insert(0, str(Path(__file__).parent))

from web_kit import World, make_app, make_world

from exchange.instance import Instance


def pytest_configure(config: pytest.Config) -> None:
    """Register the browser marker (until pyproject does)."""
    config.addinivalue_line("markers", "browser: drives Debian's chromium with Playwright")


@pytest.fixture
def world(instance: Instance) -> World:
    """Two schools that trust each other, with a user in every role."""
    return make_world(instance)


@pytest.fixture
def app(instance: Instance) -> Iterator[Flask]:
    """Return the web app, with queued tasks run inline."""
    yield from make_app(instance)
