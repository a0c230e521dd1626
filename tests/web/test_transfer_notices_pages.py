"""Withdrawal, recall and re-offer in the pages: both schools see each notice."""

from __future__ import annotations

from flask import Flask
from flow import complete, incoming_id, post, start_and_offer
from sqlalchemy import func, select
from web_kit import World, sign_in

from exchange.instance import Instance
from exchange.records.models import Incident
from exchange.transfers import states
from exchange.transfers.models import Transfer


def _state(instance: Instance, transfer_id: int) -> str:
    with instance.sessions() as session:
        return session.get(Transfer, transfer_id).state


def _pair(app: Flask, instance: Instance, world: World) -> tuple:
    sender, receiver = app.test_client(), app.test_client()
    sign_in(sender, instance, world.user("sender", "dsl"))
    sign_in(receiver, instance, world.user("receiver", "dsl"))
    return sender, receiver


def test_a_withdrawal_reaches_the_receiving_school(
    app: Flask, instance: Instance, world: World
) -> None:
    sender, receiver = _pair(app, instance, world)
    transfer_id = start_and_offer(
        sender, instance, world.sender_id, world.receiver_id, world.pupil_id
    )
    received = incoming_id(instance, world.receiver_id, transfer_id)
    post(sender, f"/transfers/{transfer_id}/withdraw", {"reason": "The family stayed."})
    assert _state(instance, received) == states.WITHDRAWN
    page = receiver.get(f"/transfers/{received}").get_data(as_text=True)
    assert "The sending school withdrew this offer" in page
    assert "Answer the offer" not in page
    refused = post(
        receiver,
        f"/transfers/{received}/answer",
        {"decision": "accept", "on_roll": "yes"},
        status=400,
    )
    assert "withdrawn" in refused


def test_a_rejected_offer_is_offered_again_from_the_transfer_page(
    app: Flask, instance: Instance, world: World
) -> None:
    sender, receiver = _pair(app, instance, world)
    transfer_id = start_and_offer(
        sender, instance, world.sender_id, world.receiver_id, world.pupil_id
    )
    received = incoming_id(instance, world.receiver_id, transfer_id)
    post(
        receiver,
        f"/transfers/{received}/answer",
        {"decision": "reject", "reason": "Not yet on roll"},
    )
    assert _state(instance, transfer_id) == states.REJECTED
    page = sender.get(f"/transfers/{transfer_id}").get_data(as_text=True)
    assert f"/transfers/{transfer_id}/reoffer" in page
    form = sender.get(f"/transfers/{transfer_id}/reoffer").get_data(as_text=True)
    assert "Not yet on roll" in form
    refused = post(sender, f"/transfers/{transfer_id}/reoffer", {"reason": " "}, status=400)
    assert 'id="reason-error"' in refused
    answer = post(
        sender, f"/transfers/{transfer_id}/reoffer", {"reason": "Starts Monday"}, status=302
    )
    with instance.sessions() as session:
        new = session.scalar(select(Transfer).where(Transfer.follows_uid.is_not(None)))
        assert new.state == states.DRAFT
        assert new.school_id == world.sender_id
    assert answer is not None
    again = sender.get(f"/transfers/{transfer_id}/reoffer").get_data(as_text=True)
    assert "already been offered again" in again


def test_a_recall_is_confirmed_and_destroys_the_received_copy(
    app: Flask, instance: Instance, world: World
) -> None:
    sender, receiver = _pair(app, instance, world)
    transfer_id = start_and_offer(
        sender, instance, world.sender_id, world.receiver_id, world.pupil_id
    )
    received = complete(sender, receiver, instance, world.receiver_id, transfer_id)
    assert _state(instance, transfer_id) == states.CLOSED
    assert "Recall this file" in sender.get(f"/transfers/{transfer_id}").get_data(as_text=True)
    refused = post(
        sender, f"/transfers/{transfer_id}/recall", {"reason": "Wrong school"}, status=400
    )
    assert 'id="confirm-error"' in refused
    post(sender, f"/transfers/{transfer_id}/recall", {"reason": "Wrong school", "confirm": "yes"})
    assert _state(instance, received) == states.RECALL_REQUESTED
    page = receiver.get(f"/transfers/{received}").get_data(as_text=True)
    assert "The sending school recalled this file" in page
    post(receiver, f"/transfers/{received}/destroy-recalled", {"confirm": "yes"})
    assert _state(instance, received) == states.RECALLED
    assert _state(instance, transfer_id) == states.RECALLED
    with instance.sessions() as session:
        left = session.scalar(
            select(func.count())
            .select_from(Incident)
            .where(Incident.school_id == world.receiver_id)
        )
    assert left == 0
