"""The command line shared by the make_vectors.py scripts: check the vectors, or --write them."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path


def stale(folder: Path, files: dict[str, bytes]) -> list[str]:
    """Return the names of vector files whose bytes differ from what the code makes now."""
    return [name for name, data in files.items() if (folder / name).read_bytes() != data]


def run(description: str | None, folder: Path, make: Callable[[], dict[str, bytes]]) -> int:
    """Check the vectors in folder (exit 1 if any differ), or write them with --write."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--write", action="store_true")
    if parser.parse_args().write:
        for name, data in make().items():
            (folder / name).write_bytes(data)
        return 0
    differ = stale(folder, make())
    for name in differ:
        print(f"{name} differs from what the code makes", file=sys.stderr)
    return 1 if differ else 0
