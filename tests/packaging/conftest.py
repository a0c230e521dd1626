"""Fixtures for the packaging tests: keys and a scratch temp folder."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import pytest

# The helpers live beside the tests; "packaging" cannot be a package name (PyPA owns it).
sys.path.insert(0, str(Path(__file__).parent))

from bundle_kit import Parties


@pytest.fixture(scope="session")
def parties() -> Parties:
    """Return keys for a sending, a receiving and a third school."""
    return Parties()


@pytest.fixture
def scratch_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point tempfile at an empty folder, to check nothing is left behind."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


@pytest.fixture(autouse=True)
def open_registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Keep the record of running opens in the test's folder, not the user's."""
    folder = tmp_path / "open-registry"
    monkeypatch.setenv("EXCHANGE_OPEN_REGISTRY", str(folder))
    return folder
