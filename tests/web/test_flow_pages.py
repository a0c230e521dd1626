"""A whole transfer through the pages: departing DSL, receiving DSL, then the DPO's ledger."""

from __future__ import annotations

import io
import zipfile

from flask import Flask
from flow import complete, start_and_offer
from transfer_kit import OTHER_CHILD
from web_kit import World, sign_in

from exchange.instance import Instance
from exchange.transfers import states
from exchange.transfers.models import Transfer


def test_two_dsls_complete_a_transfer_and_the_dpo_verifies_the_receipt(
    app: Flask, instance: Instance, world: World
) -> None:
    sender, receiver, dpo = app.test_client(), app.test_client(), app.test_client()
    sign_in(sender, instance, world.user("sender", "dsl"))
    sign_in(receiver, instance, world.user("receiver", "dsl"))
    sign_in(dpo, instance, world.user("sender", "dpo"))
    transfer_id = start_and_offer(
        sender, instance, world.sender_id, world.receiver_id, world.pupil_id
    )
    received = complete(sender, receiver, instance, world.receiver_id, transfer_id)
    with instance.sessions() as session:
        assert session.get(Transfer, transfer_id).state == states.CLOSED
        got = session.get(Transfer, received)
        assert got.state == states.CLOSED
        pupil_id = got.pupil_id
    page = receiver.get(f"/pupils/{pupil_id}").get_data(as_text=True)
    assert "[Child A]" in page or "Child A" in page
    assert OTHER_CHILD[1] not in page
    ledger = dpo.get("/receipts").get_data(as_text=True)
    assert f"/receipts/{transfer_id}/verify" in ledger
    verified = dpo.get(f"/receipts/{transfer_id}/verify")
    assert verified.status_code == 200
    assert "Receipt verified" in verified.get_data(as_text=True)
    pack = dpo.get(f"/receipts/{transfer_id}/evidence.zip")
    assert pack.status_code == 200
    assert zipfile.ZipFile(io.BytesIO(pack.data)).namelist()
