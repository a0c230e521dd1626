"""A real Celery worker redacts the vault with a pool of two processes inside its own process."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from sqlalchemy import select
from transfer_kit import Pair
from vault_kit import add_vault_pdfs, review_without_running

from exchange.audit.models import AuditEntry
from exchange.instance import Instance
from exchange.outbox.service import celery_sender, dispatch
from exchange.serve import worker_command, worker_environment
from exchange.tasks.celery_app import make_celery
from exchange.transfers.models import RedactionReview, Transfer

pytestmark = [pytest.mark.celery, pytest.mark.slow]


def test_a_prefork_worker_redacts_the_vault_with_two_processes(
    instance: Instance, pair: Pair, tmp_path: Path
) -> None:
    add_vault_pdfs(instance, pair.pupil_id, 3)
    transfer_id, pending = review_without_running(instance, pair)
    environment = {**worker_environment(instance), "EXCHANGE_VAULT_WORKERS": "2"}
    log = tmp_path / "worker.log"
    with log.open("wb") as output:
        worker = subprocess.Popen(
            worker_command(instance, beat=False, concurrency=1),
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    app = make_celery(instance.config)
    try:
        dispatch(instance.sessions, celery_sender(app), pending)
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            with instance.sessions() as session:
                if session.get(Transfer, transfer_id).vault_queued_at is None:
                    break
            time.sleep(1)
        with instance.sessions() as session:
            transfer = session.get(Transfer, transfer_id)
            assert transfer.vault_queued_at is None, log.read_text()[-4000:]
            assert (transfer.vault_done, transfer.vault_total) == (4, 4)
            reviews = session.scalars(
                select(RedactionReview).where(
                    RedactionReview.transfer_id == transfer_id, RedactionReview.kind == "document"
                )
            ).all()
            assert len(reviews) == 4
            assert all(review.redacted_sha256 for review in reviews)
            [event] = session.scalars(
                select(AuditEntry).where(AuditEntry.event == "transfer.vault_redacted")
            ).all()
            assert b'"processes":2' in event.canonical.replace(b" ", b"")
    finally:
        app.close()
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
