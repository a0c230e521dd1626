"""A document without a redacted copy never travels: authorising refuses, and so does the bundle.

The redaction review already refuses to confirm such a document; these tests stand where a
confirmation was recorded anyway (by an earlier version, or a review lost), and check that
neither the workflow nor the bundle builder falls back to sending the original.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from totp_kit import acting, enrol
from transfer_kit import (
    Pair,
    accept_offer,
    actor,
    child_with_records,
    offer_transfer,
    school_with_keys,
)

from exchange.cli import main
from exchange.db import transaction
from exchange.instance import Instance
from exchange.partners.service import enrol_partner, own_card
from exchange.transfers import states, workflow
from exchange.transfers.bundle_step import UnredactedDocument, build_transfer_bundle, outbox_path
from exchange.transfers.client import WsgiTransport
from exchange.transfers.delivery import partner_url
from exchange.transfers.incoming import find_transfer
from exchange.transfers.models import RedactionReview, Transfer
from exchange.transfers.workflow_types import ActionRefused


def _accepted_and_discussed(instance: Instance, pair: Pair, transport: WsgiTransport) -> int:
    """Offer, accept over the school-to-school API, and record the DSL conversation."""
    transfer_id, uid, offer = offer_transfer(instance, pair)
    with instance.sessions() as session:
        url = partner_url(session.get(Transfer, transfer_id), "offers")
        assert transport.post(url, offer).status == 202
    answer = accept_offer(instance, pair, uid)
    with instance.sessions() as session:
        received = find_transfer(session, pair.receiver_id, uid, "incoming")
        assert transport.post(partner_url(received, "offer-responses"), answer).status == 200
    with transaction(instance.sessions) as session:
        transfer = session.get(Transfer, transfer_id)
        workflow.apply(
            session,
            instance,
            transfer,
            "record_conversation",
            actor(session, pair.sender_dsl_id),
            held_on=transfer.created_at.date(),
            participants="A, B",
            summary="Needs.",
        )
    return transfer_id


def _lose_the_redacted_copy(session, transfer_id: int) -> int:  # type: ignore[no-untyped-def]
    """Leave the document confirmed with no redacted copy; return the document's id."""
    review = session.scalar(
        select(RedactionReview).where(
            RedactionReview.transfer_id == transfer_id, RedactionReview.kind == "document"
        )
    )
    assert review is not None
    assert review.redacted_storage_key  # The premise: it had one.
    review.redacted_storage_key = None
    review.flagged = True
    review.resolution = "confirmed"
    review.resolution_note = "Confirmed before an original could not travel."
    return review.object_id


def test_authorising_refuses_a_confirmed_document_that_has_no_redacted_copy(
    instance: Instance, pair: Pair, transport: WsgiTransport
) -> None:
    transfer_id = _accepted_and_discussed(instance, pair, transport)
    with transaction(instance.sessions) as session:
        document_id = _lose_the_redacted_copy(session, transfer_id)
    with transaction(instance.sessions) as session:
        transfer = session.get(Transfer, transfer_id)
        dsl = actor(session, pair.sender_dsl_id)
        with pytest.raises(ActionRefused) as refused:
            workflow.apply(session, instance, transfer, "authorise", dsl, fresh_second_factor=True)
        assert refused.value.message.startswith(
            f"Document {document_id} has no redacted copy, and an original is never sent: "
            "on the redaction review, exclude it or upload a redacted PDF in its place"
        )
        session.rollback()
    with instance.sessions() as session:
        transfer = session.get(Transfer, transfer_id)
        assert transfer.state == states.CONVERSATION_RECORDED
        assert transfer.bundle_sha256 is None
        assert not outbox_path(instance, transfer).exists()


def test_the_bundle_builder_refuses_on_its_own_and_keeps_nothing(
    instance: Instance, pair: Pair, transport: WsgiTransport
) -> None:
    transfer_id = _accepted_and_discussed(instance, pair, transport)
    with transaction(instance.sessions) as session:
        document_id = _lose_the_redacted_copy(session, transfer_id)
    with transaction(instance.sessions) as session:
        transfer = session.get(Transfer, transfer_id)
        dsl = actor(session, pair.sender_dsl_id)
        # Called directly, past the workflow's precondition: the second line holds alone.
        with pytest.raises(UnredactedDocument, match=f"Document {document_id} has no redacted"):
            build_transfer_bundle(session, instance, transfer, dsl)
        assert transfer.bundle_sha256 is None
        target = outbox_path(instance, transfer)
        assert not target.exists()
        assert not target.with_suffix(".partial").exists()


def test_a_document_with_no_review_at_all_is_refused_too(
    instance: Instance, pair: Pair, transport: WsgiTransport
) -> None:
    transfer_id = _accepted_and_discussed(instance, pair, transport)
    with transaction(instance.sessions) as session:
        review = session.scalar(
            select(RedactionReview).where(
                RedactionReview.transfer_id == transfer_id, RedactionReview.kind == "document"
            )
        )
        document_id = review.object_id
        session.delete(review)
    with transaction(instance.sessions) as session:
        transfer = session.get(Transfer, transfer_id)
        dsl = actor(session, pair.sender_dsl_id)
        with pytest.raises(ActionRefused, match=f"Document {document_id} has no redacted copy"):
            workflow.apply(session, instance, transfer, "authorise", dsl, fresh_second_factor=True)
        with pytest.raises(UnredactedDocument):
            build_transfer_bundle(session, instance, transfer, dsl)


def test_the_command_line_refuses_in_the_same_words(
    instance: Instance, cli_env: dict[str, str], tmp_path: Path
) -> None:
    with transaction(instance.sessions) as session:
        sender = school_with_keys(session, instance, 1, "bretherton")
        receiver = school_with_keys(session, instance, 2, "holy_trinity")
        enrol_partner(session, sender.id, own_card(session, receiver, None))
        subject, _ = child_with_records(session, instance, sender)
        upn = subject.upn
    enrol(instance, "dsl1@example.org")
    runner = CliRunner()

    def run(*args: str) -> tuple[int, str]:
        result = runner.invoke(main, ["--school", "990101", *args], env=cli_env)
        return result.exit_code, result.output

    def as_dsl() -> list[str]:
        return acting(instance, "dsl1@example.org")

    _code, created = run("transfers", "create", "--upn", upn, "--to", "990102", *as_dsl())
    reference = re.search(r"draft ([0-9a-f-]{36})", created).group(1)
    assert run("transfers", "review", reference[:8], *as_dsl())[0] == 0
    conversation = ["--held-on", date.today().isoformat(), "--participants", "Dsl 1, Dsl 2"]
    summary = ["--summary", "Needs a trusted adult."]
    assert (
        run("transfers", "conversation", reference[:8], *conversation, *summary, *as_dsl())[0] == 0
    )
    with transaction(instance.sessions) as session:
        transfer_id = session.scalar(select(Transfer.id).where(Transfer.transfer_uid == reference))
        document_id = _lose_the_redacted_copy(session, transfer_id)
    code, refused = run("transfers", "authorise", reference[:8], "--confirm", *as_dsl())
    assert code == 1
    assert f"error: Document {document_id} has no redacted copy, and an original is never" in (
        " ".join(refused.split())
    )
    with instance.sessions() as session:
        transfer = session.get(Transfer, transfer_id)
        assert transfer.state == states.CONVERSATION_RECORDED
        assert transfer.authorised_at is None
