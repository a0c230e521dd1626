"""Show the vault redaction's progress on the command line: a bar on a terminal, lines if not."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click

from exchange.instance import Instance
from exchange.outbox.service import Sender
from exchange.tasks import names
from exchange.transfers.models import Transfer
from exchange.transfers.vault_pool import Progress

LABEL = "Redacting documents"
POLL_SECONDS = 0.5


@contextmanager
def progress_on_stderr() -> Iterator[Progress]:
    """Yield a callback that draws (done, total) on stderr, then close the bar."""
    if not sys.stderr.isatty():
        yield lambda done, total: click.echo(f"{LABEL}: {done} of {total} done", err=True)
        return
    bar: Any = None
    shown = 0
    try:

        def show(done: int, total: int) -> None:
            nonlocal bar, shown
            if bar is None:
                bar = click.progressbar(length=max(total, 1), label=LABEL, file=sys.stderr)
                bar.__enter__()
            bar.length = max(total, 1)
            bar.update(done - shown)
            shown = done

        yield show
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)


def here(instance: Instance, fallback: Sender, progress: Progress) -> Sender:
    """Return a sender that redacts the vault in this process, and queues anything else."""
    from exchange.transfers.vault_task import redact_vault

    def send(task: str, args: list, outbox_id: int) -> None:
        if task == names.REDACT_VAULT:
            redact_vault(instance, args[0], outbox_id, progress=progress)
        else:
            fallback(task, args, outbox_id)

    return send


def follow(
    instance: Instance,
    transfer_id: int,
    progress: Progress,
    *,
    timeout: float = 3600.0,
    sleep: Callable[[float], None] = time.sleep,
) -> bool:
    """Report the worker's progress until the vault is redacted; return False on timeout."""
    deadline = time.monotonic() + timeout
    last = (-1, -1)
    while time.monotonic() < deadline:
        with instance.sessions() as session:
            transfer = session.get(Transfer, transfer_id)
            if transfer is None:
                return False
            now = (transfer.vault_done or 0, transfer.vault_total or 0)
            finished = transfer.vault_queued_at is None
        if now != last:
            progress(*now)
            last = now
        if finished:
            return True
        sleep(POLL_SECONDS)
    return False
