"""Private work folders per process, and removal of those left by processes that died."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

WORK_FOLDER = "work"


def process_work_dir(home: Path) -> Path:
    """Return this process's private work folder (decrypted bundles live here briefly)."""
    folder = Path(home) / WORK_FOLDER / str(os.getpid())
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder


def sweep_dead_work_dirs(home: Path) -> int:
    """Remove the work folders of processes that no longer run (killed mid-import); count them."""
    root = Path(home) / WORK_FOLDER
    if not root.is_dir():
        return 0
    removed = 0
    for folder in root.iterdir():
        if folder.is_dir() and folder.name.isdigit() and not _alive(int(folder.name)):
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
