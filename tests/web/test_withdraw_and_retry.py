"""Withdraw a transfer with a reason; send a failed delivery again."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Flask
from flow import incoming_id, post, start_and_offer
from sqlalchemy import select
from web_kit import World, sign_in

from exchange.audit.models import AuditEntry
from exchange.db import transaction
from exchange.instance import Instance
from exchange.tasks import names
from exchange.transfers import states, workflow
from exchange.transfers.actors import SYSTEM_ACTOR
from exchange.transfers.models import Transfer, TransferStep


def _state(instance: Instance, transfer_id: int) -> str:
    with instance.sessions() as session:
        return session.get(Transfer, transfer_id).state


def test_withdrawing_needs_a_reason_and_records_it(
    app: Flask, instance: Instance, world: World
) -> None:
    client = app.test_client()
    sign_in(client, instance, world.user("sender", "deputy_dsl"))
    transfer_id = start_and_offer(
        client, instance, world.sender_id, world.receiver_id, world.pupil_id
    )
    page = client.get(f"/transfers/{transfer_id}").get_data(as_text=True)
    assert f"/transfers/{transfer_id}/withdraw" in page
    refused = post(client, f"/transfers/{transfer_id}/withdraw", {"reason": "  "}, status=400)
    assert 'id="reason-error"' in refused
    assert 'href="#reason"' in refused
    assert _state(instance, transfer_id) == states.OFFERED

    post(client, f"/transfers/{transfer_id}/withdraw", {"reason": "The family did not move."})
    with instance.sessions() as session:
        assert session.get(Transfer, transfer_id).state == states.WITHDRAWN
        step = session.scalars(
            select(TransferStep)
            .where(TransferStep.transfer_id == transfer_id)
            .order_by(TransferStep.id.desc())
        ).first()
        assert step.note == "The family did not move."
    again = post(client, f"/transfers/{transfer_id}/withdraw", {"reason": "Twice"}, status=400)
    assert "not possible while the transfer is withdrawn" in again
    assert "Withdraw this transfer" not in client.get(f"/transfers/{transfer_id}").get_data(
        as_text=True
    )


def _failed_delivery(
    app: Flask, instance: Instance, world: World, held: list[tuple[str, list[Any]]] | None = None
) -> int:
    """Take a transfer to a failed delivery, as if the receiving service were down."""
    held = [] if held is None else held
    sender, receiver = app.test_client(), app.test_client()
    sign_in(sender, instance, world.user("sender", "dsl"))
    sign_in(receiver, instance, world.user("receiver", "dsl"))
    transfer_id = start_and_offer(
        sender, instance, world.sender_id, world.receiver_id, world.pupil_id
    )
    received = incoming_id(instance, world.receiver_id, transfer_id)
    post(receiver, f"/transfers/{received}/answer", {"decision": "accept", "on_roll": "yes"})
    post(
        sender,
        f"/transfers/{transfer_id}/conversation",
        {"held_on": date.today().isoformat(), "participants": "Dsl 1, Dsl 2", "summary": "Ok."},
    )
    run = app.extensions["task_runner"]
    app.extensions["task_runner"] = lambda task, args, _row: held.append((task, args))
    post(sender, f"/transfers/{transfer_id}/authorise", {"confirm": "yes"}, status=200)
    with transaction(instance.sessions) as session:
        transfer = session.get(Transfer, transfer_id)
        workflow.apply(session, None, transfer, "delivery_failed", SYSTEM_ACTOR, note="down")
    app.extensions["task_runner"] = run
    return transfer_id


def test_a_failed_delivery_is_sent_again_by_the_dsl(
    app: Flask, instance: Instance, world: World
) -> None:
    held: list[tuple[str, list[Any]]] = []
    transfer_id = _failed_delivery(app, instance, world, held)
    assert held == [(names.DELIVER, [transfer_id])]
    sender = app.test_client()
    sign_in(sender, instance, world.user("sender", "dsl"))

    page = sender.get(f"/transfers/{transfer_id}").get_data(as_text=True)
    assert f"/transfers/{transfer_id}/retry" in page
    unconfirmed = post(sender, f"/transfers/{transfer_id}/retry", {}, status=400)
    assert 'id="confirm-error"' in unconfirmed
    assert _state(instance, transfer_id) == states.FAILED

    stale = app.test_client()
    sign_in(stale, instance, world.user("sender", "dsl"), fresh=False)
    assert "/confirm" in stale.get(f"/transfers/{transfer_id}/retry").headers["Location"]

    post(sender, f"/transfers/{transfer_id}/retry", {"confirm": "yes"}, status=200)
    assert _state(instance, transfer_id) == states.CLOSED
    refused = post(sender, f"/transfers/{transfer_id}/retry", {"confirm": "yes"}, status=400)
    assert "not possible while the transfer is closed" in refused


def test_a_deputy_cannot_send_again_where_deputies_may_not_authorise(
    app: Flask, instance: Instance, world: World
) -> None:
    transfer_id = _failed_delivery(app, instance, world)
    queued: list[str] = []
    app.extensions["task_runner"] = lambda task, _args, _row: queued.append(task)
    deputy = app.test_client()
    sign_in(deputy, instance, world.user("sender", "deputy_dsl"))
    assert f"/transfers/{transfer_id}/retry" not in deputy.get(
        f"/transfers/{transfer_id}"
    ).get_data(as_text=True)
    refused = post(deputy, f"/transfers/{transfer_id}/retry", {"confirm": "yes"}, status=400)
    assert "Only the DSL can authorise a transfer at this school" in refused
    assert "deputies are not allowed to" in refused
    assert _state(instance, transfer_id) == states.FAILED
    assert queued == []
    with instance.sessions() as session:
        events = session.scalars(
            select(AuditEntry.event).where(AuditEntry.event == "transfer.retry_refused")
        ).all()
    assert len(events) == 1
