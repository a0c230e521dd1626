"""Private work folders, and removal of those left by processes that died.

The service decrypts into `<home>/work/<pid>/`. `exchange bundle open` decrypts beside its
`--out` folder (so the final move is a rename) into `.sgx-open-<pid>-<random>/`, and first
records that path in a per-user registry; a later run, or the service's start-up sweep,
removes the folders of recorded processes that no longer run.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
from pathlib import Path

WORK_FOLDER = "work"
REGISTRY_ENV = "EXCHANGE_OPEN_REGISTRY"
CLAIM_PREFIX = ".sgx-open-"
_CLAIM = re.compile(r"\.sgx-open-([0-9]+)-[0-9a-f]{16}")


def process_work_dir(home: Path) -> Path:
    """Return this process's private work folder (decrypted bundles live here briefly)."""
    folder = Path(home) / WORK_FOLDER / str(os.getpid())
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder


def sweep_dead_work_dirs(home: Path) -> int:
    """Remove the work folders of processes that no longer run (killed mid-import); count them."""
    root = Path(home) / WORK_FOLDER
    removed = sweep_claimed_work_dirs()
    if not root.is_dir():
        return removed
    for folder in root.iterdir():
        if folder.is_dir() and folder.name.isdigit() and not _alive(int(folder.name)):
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
    return removed


def registry_root() -> Path:
    """Return the per-user folder recording the work folders of running opens."""
    override = os.environ.get(REGISTRY_ENV)
    if override:
        return Path(override)
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "safeguarding-exchange" / "open"


def claim_work_dir(parent: Path) -> Path:
    """Create a private folder in parent, recorded first so a later run can remove it."""
    name = f"{CLAIM_PREFIX}{os.getpid()}-{secrets.token_hex(8)}"
    folder = Path(parent).resolve() / name
    registry = registry_root()
    registry.mkdir(parents=True, exist_ok=True, mode=0o700)
    (registry / name).write_text(str(folder), encoding="utf-8")
    folder.mkdir(mode=0o700)
    return folder


def release_work_dir(folder: Path) -> None:
    """Remove a claimed folder and its record."""
    shutil.rmtree(folder, ignore_errors=True)
    (registry_root() / folder.name).unlink(missing_ok=True)


def sweep_claimed_work_dirs() -> int:
    """Remove the recorded folders of opens whose process no longer runs; count them."""
    registry = registry_root()
    if not registry.is_dir():
        return 0
    removed = 0
    for record in registry.iterdir():
        claim = _CLAIM.fullmatch(record.name)
        if claim is None or _alive(int(claim.group(1))):
            continue
        folder = Path(record.read_text(encoding="utf-8").strip())
        if folder.name == record.name and folder.is_dir() and not folder.is_symlink():
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
        record.unlink(missing_ok=True)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
