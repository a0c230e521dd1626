"""The DSL is told, on the authorise page and in the viewer, that an original never travels."""

from __future__ import annotations

import html
from datetime import date

from flask import Flask
from flow import incoming_id, post, start_and_offer
from sqlalchemy import select
from web_kit import World, sign_in

from exchange.db import transaction
from exchange.instance import Instance
from exchange.transfers import states
from exchange.transfers.models import RedactionReview, Transfer


def test_authorising_is_refused_in_words_for_a_document_with_no_redacted_copy(
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
    with transaction(instance.sessions) as session:
        review = session.scalar(
            select(RedactionReview).where(
                RedactionReview.transfer_id == transfer_id, RedactionReview.kind == "document"
            )
        )
        assert review.redacted_storage_key  # The premise: the minutes were redacted.
        # A confirmation recorded although the redacted copy is gone (an earlier version).
        review.redacted_storage_key = None
        review.flagged = True
        review.resolution = "confirmed"
        review.resolution_note = "Confirmed by hand."
        review_id, document_id = review.id, review.object_id

    viewer = sender.get(f"/transfers/{transfer_id}/redactions/{review_id}/viewer")
    page = html.unescape(viewer.get_data(as_text=True))
    assert viewer.status_code == 200
    assert 'id="no-redacted-copy"' in page
    assert "this document cannot be confirmed: its original is never sent" in page
    assert "Confirm the redaction" not in page

    refused = html.unescape(
        post(sender, f"/transfers/{transfer_id}/authorise", {"confirm": "yes"}, status=400)
    )
    assert (
        f"Document {document_id} has no redacted copy, and an original is never sent: on the "
        "redaction review, exclude it or upload a redacted PDF in its place"
    ) in refused
    with instance.sessions() as session:
        transfer = session.get(Transfer, transfer_id)
        assert transfer.state == states.CONVERSATION_RECORDED
        assert transfer.bundle_sha256 is None
