"""The transfer page names records changed after the review, and the DSL redacts them again."""

from __future__ import annotations

import re
from datetime import date

from flask import Flask
from flow import incoming_id, post, start_and_offer
from transfer_kit import MARKER, OTHER_CHILD, change_records_after_review
from web_kit import World, sign_in

from exchange.instance import Instance
from exchange.transfers import states
from exchange.transfers.models import Transfer

BOX = "The records changed after the review"


def test_the_dsl_sees_the_changes_redacts_them_again_and_authorises(
    app: Flask, instance: Instance, world: World
) -> None:
    sender, receiver, dpo = app.test_client(), app.test_client(), app.test_client()
    sign_in(sender, instance, world.user("sender", "dsl"))
    sign_in(receiver, instance, world.user("receiver", "dsl"))
    sign_in(dpo, instance, world.user("sender", "dpo"))
    transfer_id = start_and_offer(
        sender, instance, world.sender_id, world.receiver_id, world.pupil_id
    )
    received = incoming_id(instance, world.receiver_id, transfer_id)
    post(receiver, f"/transfers/{received}/answer", {"decision": "accept", "on_roll": "yes"})
    incident_id, _action = change_records_after_review(instance, transfer_id)

    page = sender.get(f"/transfers/{transfer_id}").get_data(as_text=True)
    assert BOX in page
    assert re.search(rf"Incident {incident_id} \(\d+ \w+ \d{{4}}\): a new action", page)
    assert re.search(rf"Incident {incident_id} \(\d+ \w+ \d{{4}}\): its narrative changed", page)
    assert MARKER not in page
    assert BOX not in dpo.get(f"/transfers/{transfer_id}").get_data(as_text=True)
    post(
        sender,
        f"/transfers/{transfer_id}/conversation",
        {"held_on": date.today().isoformat(), "participants": "Dsl 1, Dsl 2", "summary": "Met."},
    )
    refused = post(sender, f"/transfers/{transfer_id}/authorise", {"confirm": "yes"}, 400)
    assert "changed in the records after the review" in refused
    with instance.sessions() as session:
        assert session.get(Transfer, transfer_id).state == states.CONVERSATION_RECORDED

    post(dpo, f"/transfers/{transfer_id}/review/changes", status=403)
    post(sender, f"/transfers/{transfer_id}/review/changes")
    review = sender.get(f"/transfers/{transfer_id}/redactions").get_data(as_text=True)
    assert OTHER_CHILD[1] not in review
    assert BOX not in sender.get(f"/transfers/{transfer_id}").get_data(as_text=True)
    again = post(sender, f"/transfers/{transfer_id}/review/changes", status=400)
    assert "Nothing has changed in the records since the review" in again
    post(sender, f"/transfers/{transfer_id}/authorise", {"confirm": "yes"}, status=200)
    with instance.sessions() as session:
        assert session.get(Transfer, transfer_id).state == states.CLOSED  # Tasks run inline here.
