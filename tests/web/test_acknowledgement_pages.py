"""The receiving DSL reads the conversation summary; the sender sees "read and acted on"."""

from __future__ import annotations

from datetime import date

from flask import Flask
from flow import complete, post, start_and_offer
from web_kit import World, sign_in

from exchange.instance import Instance

SUMMARY = "Needs a trusted adult at break."


def test_the_summary_reaches_the_receiving_dsl_and_the_acknowledgement_the_sender(
    app: Flask, instance: Instance, world: World
) -> None:
    sender, receiver, dpo = app.test_client(), app.test_client(), app.test_client()
    sign_in(sender, instance, world.user("sender", "dsl"))
    sign_in(receiver, instance, world.user("receiver", "dsl"))
    sign_in(dpo, instance, world.user("receiver", "dpo"))
    sent = start_and_offer(sender, instance, world.sender_id, world.receiver_id, world.pupil_id)
    received = complete(sender, receiver, instance, world.receiver_id, sent)

    page = receiver.get(f"/transfers/{received}").get_data(as_text=True)
    assert "DSL conversation summary" in page
    assert SUMMARY in page
    assert "Dsl 1, Dsl 2" in page
    assert date.today().strftime("%-d %B %Y") in page
    assert f"/received/{received}/acknowledge" in page
    metadata = dpo.get(f"/transfers/{received}").get_data(as_text=True)
    assert SUMMARY not in metadata  # The DPO never reads narratives.
    assert "DSL conversation summary" not in metadata

    before = sender.get(f"/transfers/{sent}").get_data(as_text=True)
    assert "has not yet recorded that a DSL read the file" in before
    post(receiver, f"/received/{received}/acknowledge", {"action": ["read", "plan"]})

    after = sender.get(f"/transfers/{sent}").get_data(as_text=True)
    assert "Read and acted on" in after
    assert "Reviewed the child&#39;s plan or support" in after
    assert "has not yet recorded" not in after
    mine = receiver.get(f"/transfers/{received}").get_data(as_text=True)
    assert "Read and acted on by" in mine
    assert f"/received/{received}/acknowledge" not in mine
    again = post(receiver, f"/received/{received}/acknowledge", {"action": ["read"]}, status=200)
    assert "already acknowledged" in again
