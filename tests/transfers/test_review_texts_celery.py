"""A real Celery worker redacts the incident texts, then the documents; the offer waits for both."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from review_texts_kit import add_incidents, old_synchronous_texts
from sqlalchemy import select
from transfer_kit import Pair, actor
from vault_kit import review_without_running

from exchange.audit.models import AuditEntry
from exchange.db import transaction
from exchange.instance import Instance
from exchange.outbox.service import celery_sender, dispatch
from exchange.serve import worker_command, worker_environment
from exchange.tasks.celery_app import make_celery
from exchange.transfers import states, workflow
from exchange.transfers.models import RedactedText, RedactionReview, Transfer
from exchange.transfers.workflow_types import ActionRefused

pytestmark = [pytest.mark.celery, pytest.mark.slow]
INCIDENTS = 8  # Added to the kit's one, which also gives one vault PDF.


def _offer(instance: Instance, pair: Pair, transfer_id: int) -> None:
    with transaction(instance.sessions) as session:
        transfer = session.get(Transfer, transfer_id)
        workflow.apply(session, instance, transfer, "offer", actor(session, pair.sender_dsl_id))


def test_a_worker_redacts_the_incidents_and_the_offer_waits_for_them(
    instance: Instance, pair: Pair, tmp_path: Path
) -> None:
    add_incidents(instance, pair.pupil_id, INCIDENTS)
    transfer_id, pending = review_without_running(instance, pair)
    total = INCIDENTS + 1
    with pytest.raises(ActionRefused, match=rf"incidents: 0 of {total} done; documents: 0 of 1"):
        _offer(instance, pair, transfer_id)
    environment = {**worker_environment(instance), "EXCHANGE_VAULT_WORKERS": "1"}
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
            assert (transfer.incidents_done, transfer.incidents_total) == (total, total)
            assert (transfer.vault_done, transfer.vault_total) == (1, 1)
            kinds = session.scalars(
                select(RedactionReview.kind).where(RedactionReview.transfer_id == transfer_id)
            ).all()
            assert sorted(set(kinds)) == ["action", "document", "incident"]
            assert kinds.count("incident") == total
            texts = session.scalars(
                select(RedactedText)
                .where(RedactedText.transfer_id == transfer_id)
                .order_by(RedactedText.id)
            ).all()
            [event] = session.scalars(
                select(AuditEntry).where(AuditEntry.event == "transfer.vault_redacted")
            ).all()
            assert f'"incidents":{total}'.encode() in event.canonical.replace(b" ", b"")
        expected, _book = old_synchronous_texts(instance, transfer_id)
        assert [(t.kind, t.object_id, t.text) for t in texts] == expected
        _offer(instance, pair, transfer_id)
        with instance.sessions() as session:
            assert session.get(Transfer, transfer_id).state == states.OFFERED
    finally:
        app.close()
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
