"""The production entry points for the fault drills, with a pause where a drill kills a process.

gunicorn serves `drill_app:create()` and Celery runs `-A drill_app`, exactly as `topology_app`,
plus, when the drill asks for it through the environment, a pause at the moment it will kill:

- EXCHANGE_DRILL_PAUSE_IMPORT=<file>: the first import (in the receiver's web request) stops
  after its first vault file is written, its rows flushed but not committed; the file
  appears holding the pid of the process, which then waits to be killed.
- EXCHANGE_DRILL_PAUSE_PURGE=<file>: the purge works in batches of 2 and stops after its first
  batch is committed, the file holding the pid.

Each pause happens once (the file is created exclusively), so the process that replaces the
killed one runs normally.
"""

from __future__ import annotations

import os
import time
from typing import Any

from topology_app import celery_app, create

__all__ = ["celery_app", "create"]

PAUSE_SECONDS = 600


def _pause_once(flag: str) -> None:
    """Create the flag file with our pid and wait to be killed; do nothing if it exists."""
    try:
        descriptor = os.open(flag, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return
    with os.fdopen(descriptor, "w") as handle:
        handle.write(str(os.getpid()))
    time.sleep(PAUSE_SECONDS)


def _pause_imports(flag: str) -> None:
    from exchange.vault.store import BlobStore

    real = BlobStore.write

    def write_then_pause(self: BlobStore, *args: Any, **kwargs: Any) -> Any:
        blob = real(self, *args, **kwargs)
        _pause_once(flag)
        return blob

    BlobStore.write = write_then_pause  # type: ignore[method-assign]


def _pause_purges(flag: str) -> None:
    from exchange.retention import purge

    def after_batch(number: int) -> None:
        if number == 1:
            _pause_once(flag)

    defaults = purge.purge_school.__kwdefaults__
    assert defaults is not None
    defaults.update(batch_size=2, after_batch=after_batch)


if os.environ.get("EXCHANGE_DRILL_PAUSE_IMPORT"):
    _pause_imports(os.environ["EXCHANGE_DRILL_PAUSE_IMPORT"])
if os.environ.get("EXCHANGE_DRILL_PAUSE_PURGE"):
    _pause_purges(os.environ["EXCHANGE_DRILL_PAUSE_PURGE"])
