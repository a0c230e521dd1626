"""The redaction review while the worker redacts the documents: counts, no script, no offer yet."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flow import csrf_token, partner_id, post
from sqlalchemy import select
from web_kit import World, sign_in

from exchange.instance import Instance
from exchange.tasks import names
from exchange.transfers.models import OUTGOING, Transfer
from exchange.transfers.vault_task import redact_vault


def test_the_review_page_counts_the_documents_until_the_worker_is_done(
    app: Flask, instance: Instance, world: World
) -> None:
    held: list[tuple[str, list[Any], int]] = []
    app.extensions["task_runner"] = lambda task, args, row: held.append((task, args, row))
    client = app.test_client()
    sign_in(client, instance, world.user("sender", "dsl"))
    post(
        client,
        f"/transfers/new/{world.pupil_id}",
        {"partner_id": str(partner_id(instance, world.sender_id, world.receiver_id))},
    )
    with instance.sessions() as session:
        transfer_id = session.scalar(
            select(Transfer.id).where(
                Transfer.school_id == world.sender_id, Transfer.direction == OUTGOING
            )
        )
    response = client.post(
        f"/transfers/{transfer_id}/review", data={"csrf_token": csrf_token(client)}
    )
    assert response.status_code == 302  # The request returns at once; the worker has the task.
    assert [(task, args) for task, args, _ in held] == [(names.REDACT_VAULT, [transfer_id])]

    page = client.get(f"/transfers/{transfer_id}/redactions").get_data(as_text=True)
    assert 'id="vault-progress"' in page
    assert "<strong>0 of 1</strong> incidents redacted" in page
    assert "<strong>0 of 1</strong> documents redacted" in page
    assert "Refresh this page to see progress" in page
    assert "<script" not in page
    assert "http-equiv" not in page
    assert "Open document" not in page
    preview = client.get(f"/transfers/{transfer_id}/chronology").get_data(as_text=True)
    assert "The incidents are still being redacted: preview later" in preview
    refused = post(client, f"/transfers/{transfer_id}/offer", status=400)
    assert "still being redacted (incidents: 0 of 1 done; documents: 0 of 1 done)" in refused

    [(_task, args, row)] = held
    redact_vault(instance, args[0], row)
    page = client.get(f"/transfers/{transfer_id}/redactions").get_data(as_text=True)
    assert 'id="vault-progress"' not in page
    assert "Open document" in page
    assert "Incident " in page  # The incidents' reviews, filed by the same task.
