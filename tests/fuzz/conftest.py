"""Fixtures for the fuzz tests; the helpers beside them and the bundle kit go on the path."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "packaging"))
sys.path.insert(0, str(HERE.parent / "web"))
