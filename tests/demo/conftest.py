"""Fixtures for the demo tests: the generated demo (built once) and a fresh instance."""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from exchange.demo.generate import DemoData, generate_demo
from exchange.instance import Instance, open_instance

TODAY = date(2026, 11, 23)


@pytest.fixture(scope="session")
def demo() -> DemoData:
    """Generate the demo once for the session, as of a fixed day."""
    return generate_demo(TODAY)


@pytest.fixture
def instance_key() -> str:
    """Return a fresh base64 instance key."""
    return base64.b64encode(os.urandom(32)).decode()


@pytest.fixture
def instance(tmp_path: Path, instance_key: str) -> Iterator[Instance]:
    """Open an instance in a temporary folder."""
    opened = open_instance({"HOME": tmp_path / "home", "INSTANCE_KEY": instance_key})
    yield opened
    opened.close()
