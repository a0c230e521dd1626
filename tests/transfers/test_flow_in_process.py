"""A whole transfer between two schools on one instance, through the real API handlers."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from datetime import date

import pytest
from sqlalchemy import select
from transfer_kit import OTHER_CHILD, SUBJECT, Pair, child_with_records, introduce, school_with_keys

from exchange.db import transaction
from exchange.instance import Instance
from exchange.partners.service import find_partner
from exchange.records.models import Incident, Pupil, School, User, VaultDocument
from exchange.transfers import incoming, outgoing, states
from exchange.transfers.actors import Actor
from exchange.transfers.client import WsgiTransport
from exchange.transfers.delivery import deliver, partner_url, send_countersignature
from exchange.transfers.models import INCOMING, OUTGOING, Transfer
from exchange.transfers.redaction_step import reviews
from exchange.vault.pupil_keys import blob_context, pupil_data_key
from exchange.web import create_app


@pytest.fixture
def pair(instance: Instance) -> Pair:
    """Two schools on this instance that have confirmed each other's keys."""
    url = instance.config["PUBLIC_URL"]
    with transaction(instance.sessions) as session:
        sender = school_with_keys(session, instance, 1, "bretherton")
        receiver = school_with_keys(session, instance, 2, "holy_trinity")
        introduce(session, sender, receiver, url)
        introduce(session, receiver, sender, url)
        subject, other = child_with_records(session, instance, sender)
        dsl = lambda school: session.scalar(select(User).filter_by(school_id=school.id, role="dsl"))  # noqa: E731
        return Pair(sender.id, receiver.id, dsl(sender).id, dsl(receiver).id, subject.id, other.id)


@pytest.fixture
def transport(instance: Instance) -> Iterator[WsgiTransport]:
    """Deliver through the instance's own web app."""
    app = create_app(dict(instance.config))
    yield WsgiTransport(app)
    app.extensions["exchange"].close()


def _actor(session, user_id: int) -> Actor:  # type: ignore[no-untyped-def]
    return Actor.of(session.get(User, user_id))


def test_a_transfer_goes_from_draft_to_closed_at_both_schools(
    instance: Instance, pair: Pair, transport: WsgiTransport, tmp_path
) -> None:
    with transaction(instance.sessions) as session:
        sender = session.get(School, pair.sender_id)
        partner = find_partner(session, sender.id, session.get(School, pair.receiver_id).urn)
        transfer = outgoing.create_transfer(
            session,
            sender,
            _actor(session, pair.sender_dsl_id),
            session.get(Pupil, pair.pupil_id),
            partner,
            today=date(2026, 11, 20),
        )
        assert transfer.deadline == date(2026, 11, 27)  # 5 school days after Friday 20 November
        outgoing.start_review(session, instance, transfer, _actor(session, pair.sender_dsl_id))
        assert [r.kind for r in reviews(session, transfer)] == ["action", "document", "incident"]
        offer = outgoing.make_offer(
            session, instance, transfer, _actor(session, pair.sender_dsl_id)
        )
        transfer_id = transfer.id
    assert transport.post(partner_url(transfer, "offers"), offer).status == 202

    with transaction(instance.sessions) as session:
        received = incoming.find_transfer(
            session, pair.receiver_id, transfer.transfer_uid, INCOMING
        )
        assert received.state == states.OFFERED
        reply = incoming.respond_to_offer(
            session,
            instance,
            received,
            _actor(session, pair.receiver_dsl_id),
            accept=True,
            on_roll_confirmed=True,
        )
    assert transport.post(partner_url(received, "offer-responses"), reply).status == 200

    with transaction(instance.sessions) as session:
        transfer = session.get(Transfer, transfer_id)
        assert transfer.state == states.ACCEPTED
        actor = _actor(session, pair.sender_dsl_id)
        outgoing.record_conversation(
            session,
            transfer,
            actor,
            date(2026, 11, 19),
            "Dsl 1, Dsl 2",
            f"{SUBJECT[0]} needs a trusted adult; {OTHER_CHILD[0]} must not share her class.",
        )
        outgoing.authorise(session, instance, transfer, actor, fresh_second_factor=True)
        assert transfer.bundle_sha256
        assert transfer.file_count == 4  # chronology.json and .pdf, conversation.json, one PDF
    with transaction(instance.sessions) as session:
        transfer = session.get(Transfer, transfer_id)
        assert deliver(session, instance, transfer, transport) == states.RECEIPTED
    with transaction(instance.sessions) as session:
        transfer = session.get(Transfer, transfer_id)
        assert send_countersignature(session, instance, transfer, transport) == states.CLOSED

    with instance.sessions() as session:
        sent = session.get(Transfer, transfer_id)
        got = incoming.find_transfer(session, pair.receiver_id, sent.transfer_uid, INCOMING)
        assert got.state == states.CLOSED
        assert got.receipt_jws == sent.receipt_jws
        assert got.countersignature_jws == sent.countersignature_jws
        child = session.get(Pupil, got.pupil_id)
        assert (child.school_id, child.upn) == (pair.receiver_id, sent.pupil_upn)
        narratives = " ".join(
            i.narrative for i in session.scalars(select(Incident).filter_by(pupil_id=child.id))
        )
        assert "[Child A]" in narratives
        assert OTHER_CHILD[0] not in narratives
        assert OTHER_CHILD[1] not in narratives
        assert SUBJECT[0] in narratives
        assert OTHER_CHILD[0] not in (got.conversation_summary or "")
        documents = session.scalars(select(VaultDocument).filter_by(pupil_id=child.id)).all()
        key = pupil_data_key(session, child, instance.instance_key)
        for document in documents:
            path = tmp_path / f"{document.id}.pdf"
            path.write_bytes(
                instance.blobs.read_all(key, blob_context(child), document.storage_key)
            )
            text = subprocess.run(
                ["pdftotext", str(path), "-"], capture_output=True, text=True, check=True
            ).stdout
            assert OTHER_CHILD[0] not in text
            assert OTHER_CHILD[1] not in text
        assert len(documents) == 2  # The chronology PDF and the redacted minutes.


def test_nothing_is_offered_to_an_unconfirmed_partner(instance: Instance, pair: Pair) -> None:
    from exchange.partners.models import PartnerKey

    with transaction(instance.sessions) as session:
        for key in session.scalars(select(PartnerKey).filter_by(school_id=pair.sender_id)):
            key.confirmed_at = None
    with transaction(instance.sessions) as session:
        sender = session.get(School, pair.sender_id)
        partner = find_partner(session, sender.id, session.get(School, pair.receiver_id).urn)
        actor = _actor(session, pair.sender_dsl_id)
        transfer = outgoing.create_transfer(
            session, sender, actor, session.get(Pupil, pair.pupil_id), partner
        )
        outgoing.start_review(session, instance, transfer, actor)
        with pytest.raises(Exception, match="safety number"):
            outgoing.make_offer(session, instance, transfer, actor)
        assert transfer.direction == OUTGOING
