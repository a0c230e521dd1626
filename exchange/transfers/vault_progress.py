"""Show the review's redaction progress on the command line: a bar on a terminal, lines if not."""

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
from exchange.transfers.redaction_progress import Counts, CountsProgress, counts_of

LABEL = "Redacting incidents and documents"
POLL_SECONDS = 0.5


@contextmanager
def progress_on_stderr() -> Iterator[CountsProgress]:
    """Yield a callback that draws the counts on stderr, then close the bar."""
    if not sys.stderr.isatty():
        yield lambda counts: click.echo(f"Redacting: {counts.words()}", err=True)
        return
    bar: Any = None
    shown = 0
    try:

        def show(counts: Counts) -> None:
            nonlocal bar, shown
            if bar is None:
                bar = click.progressbar(length=max(counts.total, 1), label=LABEL, file=sys.stderr)
                bar.__enter__()
            bar.length = max(counts.total, 1)
            bar.update(counts.done - shown)
            shown = counts.done

        yield show
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)


def here(instance: Instance, fallback: Sender, progress: CountsProgress) -> Sender:
    """Return a sender that redacts the texts and vault here, and queues anything else."""
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
    progress: CountsProgress,
    *,
    timeout: float = 3600.0,
    sleep: Callable[[float], None] = time.sleep,
) -> bool:
    """Report the worker's progress until the review is redacted; return False on timeout."""
    deadline = time.monotonic() + timeout
    last: Counts | None = None
    while time.monotonic() < deadline:
        with instance.sessions() as session:
            transfer = session.get(Transfer, transfer_id)
            if transfer is None:
                return False
            now = counts_of(transfer)
            finished = transfer.vault_queued_at is None
        if now != last:
            progress(now)
            last = now
        if finished:
            return True
        sleep(POLL_SECONDS)
    return False
