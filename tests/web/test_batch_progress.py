"""The batch page while a task makes it, a batch that stalled started again, and "Batches" with
its count on a DSL's start page and navigation (never a DPO's)."""

from __future__ import annotations

import re
from datetime import timedelta

from flask import Flask
from flow import csrf_token
from test_batch_pages import _leavers
from web_kit import World, inline_task_runner, sign_in

from exchange.db import transaction, utcnow
from exchange.instance import Instance
from exchange.outbox.models import OutboxMessage
from exchange.tasks import names
from exchange.transfers.batch_task import STALLED_AFTER
from exchange.transfers.models import Transfer, TransferBatch


def _batches_count(page: str) -> str | None:
    match = re.search(r'Batches <span class="count">(\d+)', page)
    return match.group(1) if match else None


def test_a_dsl_sees_batches_on_the_start_page_and_a_dpo_does_not(
    app: Flask, instance: Instance, world: World
) -> None:
    dsl, dpo = app.test_client(), app.test_client()
    sign_in(dsl, instance, world.user("sender", "dsl"))
    sign_in(dpo, instance, world.user("sender", "dpo"))
    page = dsl.get("/start").get_data(as_text=True)
    assert 'href="/transfers/batches"' in page
    assert "<strong>0</strong> batches of leavers needing action" in page
    assert _batches_count(page) is None
    theirs = dpo.get("/start").get_data(as_text=True)
    assert "/transfers/batches" not in theirs
    assert "Batches" not in theirs
    ids = _leavers(instance, world, range(80, 82))
    response = dsl.post(
        "/transfers/batches/new",
        data={"csrf_token": csrf_token(dsl), "source": "list", "pupil_id": ids},
    )
    assert response.status_code == 303  # The page answers at once; the task makes them.
    page = dsl.get("/start").get_data(as_text=True)
    assert "<strong>1</strong> batches of leavers needing action" in page
    assert _batches_count(page) == "1"  # Both children wait for their redaction review.


def test_a_batch_that_stalled_is_started_again_from_its_page(
    app: Flask, instance: Instance, world: World
) -> None:
    ids = _leavers(instance, world, range(83, 86))
    client = app.test_client()
    sign_in(client, instance, world.user("sender", "dsl"))
    app.extensions["task_runner"] = lambda *_sent: None  # The worker is down.
    response = client.post(
        "/transfers/batches/new",
        data={"csrf_token": csrf_token(client), "source": "list", "pupil_id": ids},
        follow_redirects=True,
    )
    page = response.get_data(as_text=True)
    assert "<strong>0 of 3</strong> children started; waiting for the service" in page
    assert "Refresh this page to see progress" in page
    assert "<script" not in page
    assert 'http-equiv="refresh"' not in page.lower()
    with transaction(instance.sessions) as session:
        batch = session.query(TransferBatch).filter_by(school_id=world.sender_id).one()
        batch.queued_at = utcnow() - STALLED_AFTER - timedelta(minutes=1)
        batch_id = batch.id
    page = client.get(f"/transfers/batches/{batch_id}").get_data(as_text=True)
    assert "The batch has not moved for a while" in page
    assert "Start the batch again" in page
    app.extensions["task_runner"] = inline_task_runner(app, instance)  # The worker is back.
    response = client.post(
        f"/transfers/batches/{batch_id}/retry",
        data={"csrf_token": csrf_token(client)},
        follow_redirects=True,
    )
    page = response.get_data(as_text=True)
    assert "3 of 3 children went ahead" in page
    with instance.sessions() as session:
        assert session.query(Transfer).filter_by(batch_id=batch_id).count() == 3
        rows = session.query(OutboxMessage).filter_by(task=names.CREATE_BATCH).all()
        assert [row.args for row in rows] == [[batch_id], [batch_id]]  # Queued, then again.
