"""Fixtures for the demo tests: the generated demo, built once, and the CLI environment."""

from __future__ import annotations

from datetime import date

import pytest

from exchange.demo.generate import DemoData, generate_demo

TODAY = date(2026, 11, 23)


@pytest.fixture(scope="session")
def demo() -> DemoData:
    """Generate the demo once for the session, as of a fixed day."""
    return generate_demo(TODAY)
