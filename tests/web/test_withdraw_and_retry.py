"""Withdraw a transfer with a reason; send a failed delivery again."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Flask
from flow import incoming_id, post, start_and_offer
from sqlalchemy import select
from web_kit import World, sign_in

from exchange.db import transaction
from exchange.instance import Instance
from exchange.transfers import states
from exchange.transfers.actors import SYSTEM_ACTOR
from exchange.transfers.models import Transfer, TransferStep
from exchange.transfers.steps import move


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
    assert "cannot go from withdrawn" in again
    assert "Withdraw this transfer" not in client.get(f"/transfers/{transfer_id}").get_data(
        as_text=True
    )


def test_a_failed_delivery_is_sent_again_by_the_dsl(
    app: Flask, instance: Instance, world: World
) -> None:
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
    # The first delivery is held back and then fails, as if the receiver were down.
    run = app.extensions["task_runner"]
    held: list[tuple[str, list[Any]]] = []
    app.extensions["task_runner"] = lambda task, args: held.append((task, args))
    post(sender, f"/transfers/{transfer_id}/authorise", {"confirm": "yes"}, status=200)
    assert held == [("exchange.transfers.deliver", [transfer_id])]
    with transaction(instance.sessions) as session:
        move(session, session.get(Transfer, transfer_id), states.FAILED, SYSTEM_ACTOR)
    app.extensions["task_runner"] = run

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
    assert "cannot go from closed" in refused
