"""Fixtures for subject access tests: the kit beside them, and the web kit for the pages."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).parent
for folder in (HERE, HERE.parent / "web"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
