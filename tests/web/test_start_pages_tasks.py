"""The departing DSL's "Authorise" task says what is missing, step by step."""

from __future__ import annotations

import re

from flask import Flask
from flow import incoming_id, partner_id, post
from sqlalchemy import select
from web_kit import World, sign_in

from exchange.instance import Instance
from exchange.transfers.models import Transfer


def _authorise_status(client, transfer_id: int) -> str:  # type: ignore[no-untyped-def]
    page = client.get(f"/transfers/{transfer_id}").get_data(as_text=True)
    block = page[page.index('id="task-authorise"') :]
    block = block[: block.index("</li>")]
    return re.sub(r"<[^>]+>", " ", block).split("Authorise")[-1].strip()


def test_the_authorise_task_names_the_missing_step(
    app: Flask, instance: Instance, world: World
) -> None:
    sender, receiver = app.test_client(), app.test_client()
    sign_in(sender, instance, world.user("sender", "dsl"))
    sign_in(receiver, instance, world.user("receiver", "dsl"))
    post(
        sender,
        f"/transfers/new/{world.pupil_id}",
        {"partner_id": str(partner_id(instance, world.sender_id, world.receiver_id))},
    )
    with instance.sessions() as session:
        transfer_id = session.scalar(
            select(Transfer.id).where(Transfer.school_id == world.sender_id)
        )
    assert "start the redaction review first" in _authorise_status(sender, transfer_id)
    post(sender, f"/transfers/{transfer_id}/review")
    assert "Send the offer first" in _authorise_status(sender, transfer_id)
    post(sender, f"/transfers/{transfer_id}/offer")
    assert "Waiting for the other school to accept" in _authorise_status(sender, transfer_id)
    received = incoming_id(instance, world.receiver_id, transfer_id)
    post(receiver, f"/transfers/{received}/answer", {"decision": "accept", "on_roll": "yes"})
    assert _authorise_status(sender, transfer_id) == "Ready"
