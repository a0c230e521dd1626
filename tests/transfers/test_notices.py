"""Withdrawal, recall and re-offer: signed notices that both schools see (protocol 1.1)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from transfer_kit import (
    Pair,
    accept_offer,
    actor,
    offer_transfer,
    run_transfer,
    send_queued_offer,
    start_review,
)

from exchange.audit.models import AuditEntry
from exchange.db import transaction, utcnow
from exchange.instance import Instance
from exchange.outbox.models import OutboxMessage
from exchange.outbox.service import dispatch
from exchange.packaging.keys import load_signing_key
from exchange.records.models import Incident, Pupil, School, VaultDocument
from exchange.transfers import incoming, states, workflow
from exchange.transfers.client import WsgiTransport
from exchange.transfers.delivery import partner_url
from exchange.transfers.effects import inline_sender, send_message
from exchange.transfers.messages import NOTICE, sign_message
from exchange.transfers.models import INCOMING, Transfer
from exchange.transfers.partner_messages import expire_offers
from exchange.transfers.workflow_types import ActionRefused


def _received(instance: Instance, pair: Pair, uid: str) -> Transfer:
    with instance.sessions() as session:
        found = incoming.find_transfer(session, pair.receiver_id, uid, INCOMING)
        assert found is not None
        session.expunge(found)
        return found


def _send(instance: Instance, transfer_id: int, which: str, transport: WsgiTransport) -> None:
    with transaction(instance.sessions) as session:
        transfer = session.get(Transfer, transfer_id)
        send_message(session, transfer, which, transport)
        assert transfer.last_delivery_error is None, transfer.last_delivery_error


def _deliver_offer(instance: Instance, pair: Pair, transport: WsgiTransport) -> tuple[int, str]:
    transfer_id, uid, _offer = offer_transfer(instance, pair)
    send_queued_offer(instance, transport, transfer_id)
    assert _received(instance, pair, uid).state == states.OFFERED
    return transfer_id, uid


def _act(instance: Instance, user_id: int, transfer_id: int, name: str, **inputs: object) -> None:
    with transaction(instance.sessions) as session:
        transfer = session.get(Transfer, transfer_id)
        workflow.apply(session, instance, transfer, name, actor(session, user_id), **inputs)


def test_a_withdrawal_before_an_answer_leaves_the_receivers_queue(
    instance: Instance, pair: Pair, transport: WsgiTransport
) -> None:
    transfer_id, uid = _deliver_offer(instance, pair, transport)
    _act(instance, pair.sender_dsl_id, transfer_id, "withdraw", reason="Wrong school chosen")
    _send(instance, transfer_id, "notice", transport)
    got = _received(instance, pair, uid)
    assert got.state == states.WITHDRAWN
    assert got.partner_notice_jws
    with pytest.raises(ActionRefused, match="withdrawn"):
        accept_offer(instance, pair, uid)
    with instance.sessions() as session:
        alerts = session.scalars(
            select(OutboxMessage.args).where(OutboxMessage.school_id == pair.receiver_id)
        ).all()
    assert [got.id, "offer_withdrawn"] in [list(args) for args in alerts]


def test_a_withdrawal_after_acceptance_reaches_the_receiver(
    instance: Instance, pair: Pair, transport: WsgiTransport
) -> None:
    transfer_id, uid = _deliver_offer(instance, pair, transport)
    response = accept_offer(instance, pair, uid)
    with instance.sessions() as session:
        received = incoming.find_transfer(session, pair.receiver_id, uid, INCOMING)
        back = partner_url(received, "offer-responses")
    assert transport.post(back, response).status == 200
    _act(instance, pair.sender_dsl_id, transfer_id, "withdraw", reason="Family moved again")
    _send(instance, transfer_id, "notice", transport)
    assert _received(instance, pair, uid).state == states.WITHDRAWN


def test_a_draft_withdrawn_before_any_offer_sends_nothing(
    instance: Instance, pair: Pair, transport: WsgiTransport
) -> None:
    transfer_id, _uid, _offer = offer_transfer(instance, pair)  # Signed, never posted.
    with transaction(instance.sessions) as session:
        transfer = session.get(Transfer, transfer_id)
        transfer.offer_jws = None  # As a draft that never reached the offer step.
    _act(instance, pair.sender_dsl_id, transfer_id, "withdraw", reason="Started by mistake")
    with instance.sessions() as session:
        queued = session.scalars(
            select(OutboxMessage.args).where(OutboxMessage.school_id == pair.sender_id)
        ).all()
    assert [transfer_id, "notice"] not in [list(args) for args in queued]


def test_a_recall_destroys_the_receivers_copy_and_both_schools_record_it(
    instance: Instance, pair: Pair, transport: WsgiTransport
) -> None:
    transfer_id = run_transfer(instance, pair, transport)
    with instance.sessions() as session:
        uid = session.get(Transfer, transfer_id).transfer_uid
    got = _received(instance, pair, uid)
    with instance.sessions() as session:
        assert session.scalar(select(func.count()).where(Incident.pupil_id == got.pupil_id)) > 0
    with pytest.raises(ActionRefused, match="second factor"):
        _act(instance, pair.sender_dsl_id, transfer_id, "recall", reason="Sent to wrong school")
    _act(
        instance,
        pair.sender_dsl_id,
        transfer_id,
        "recall",
        reason="Sent to the wrong school",
        fresh_second_factor=True,
    )
    _send(instance, transfer_id, "notice", transport)
    got = _received(instance, pair, uid)
    assert got.state == states.RECALL_REQUESTED
    _act(instance, pair.receiver_dsl_id, got.id, "confirm_destruction", fresh_second_factor=True)
    _send(instance, got.id, "notice", transport)
    with instance.sessions() as session:
        for model in (Incident, VaultDocument):
            left = session.scalar(
                select(func.count()).select_from(model).where(model.school_id == pair.receiver_id)
            )
            assert left == 0
        assert session.get(Pupil, got.pupil_id) is None  # Created by the import: gone with it.
        assert session.get(Transfer, got.id).state == states.RECALLED
        sent = session.get(Transfer, transfer_id)
        assert sent.state == states.RECALLED
        assert sent.partner_notice_jws
        # The sender's own records are untouched.
        assert session.get(Pupil, pair.pupil_id) is not None


def test_a_rejected_offer_is_offered_again_linked_to_the_first(
    instance: Instance, pair: Pair, transport: WsgiTransport
) -> None:
    transfer_id, uid = _deliver_offer(instance, pair, transport)
    got = _received(instance, pair, uid)
    _act(instance, pair.receiver_dsl_id, got.id, "reject", reason="Not on our roll yet")
    _send(instance, got.id, "response", transport)
    with transaction(instance.sessions) as session:
        old = session.get(Transfer, transfer_id)
        assert old.state == states.REJECTED
        dsl = actor(session, pair.sender_dsl_id)
        sender = session.get(School, pair.sender_id)
        with pytest.raises(ActionRefused, match="reason"):
            workflow.start(session, instance, sender, "reoffer", dsl, previous=old)
        new = workflow.start(
            session, instance, sender, "reoffer", dsl, previous=old, reason="Starts on Monday"
        )
        assert new.follows_uid == uid
        assert {(i.kind, i.object_id, i.included) for i in new.items} == {
            (i.kind, i.object_id, i.included) for i in old.items
        }
        new_id = new.id
    with (
        transaction(instance.sessions) as session,
        pytest.raises(ActionRefused, match="already been offered again"),
    ):
        workflow.start(
            session,
            instance,
            session.get(School, pair.sender_id),
            "reoffer",
            actor(session, pair.sender_dsl_id),
            previous=session.get(Transfer, transfer_id),
            reason="twice",
        )
    with transaction(instance.sessions) as session:
        dsl = actor(session, pair.sender_dsl_id)
        start_review(session, instance, session.get(Transfer, new_id), dsl)
    _act(instance, pair.sender_dsl_id, new_id, "offer")
    _send(instance, new_id, "offer", transport)
    with instance.sessions() as session:
        new_uid = session.get(Transfer, new_id).transfer_uid
    again = _received(instance, pair, new_uid)
    assert again.state == states.OFFERED
    assert again.follows_uid == uid
    assert again.follows_answer == "Starts on Monday"


def test_notices_that_do_not_quote_the_offer_or_come_again_are_refused(
    instance: Instance, pair: Pair, transport: WsgiTransport
) -> None:
    transfer_id, uid = _deliver_offer(instance, pair, transport)
    with instance.sessions() as session:
        sender = session.get(School, pair.sender_id)
        receiver = session.get(School, pair.receiver_id)
        key = load_signing_key(session, sender.id, instance.instance_key)
        url = partner_url(session.get(Transfer, transfer_id), "notices")
        offer_sha = session.get(Transfer, transfer_id).offer_sha256

    def notice(**body: object) -> str:
        base = {"transfer_id": uid, "offer_sha256": offer_sha, "notice": "withdrawal"}
        return sign_message({**base, **body}, key, NOTICE, sender.urn, receiver.urn)

    assert transport.post(url, notice(offer_sha256="0" * 64)).status == 403
    assert transport.post(url, notice(notice="destroy everything")).status == 403
    assert transport.post(url, notice(transfer_id="not-a-transfer")).status == 403
    assert transport.post(url, notice(notice="destruction")).status == 403  # Wrong direction.
    assert transport.post(url, notice(reason="x" * 501)).status == 403
    assert _received(instance, pair, uid).state == states.OFFERED
    good = notice(reason="Withdrawn")
    assert transport.post(url, good).status == 200
    assert transport.post(url, good).status == 409  # Replay.
    assert _received(instance, pair, uid).state == states.WITHDRAWN


def test_an_expired_offer_alerts_the_departing_dsl(
    instance: Instance, pair: Pair, transport: WsgiTransport
) -> None:
    transfer_id, _uid = _deliver_offer(instance, pair, transport)
    with transaction(instance.sessions) as session:
        assert expire_offers(session, instance, pair.sender_id, utcnow() + timedelta(days=60)) == 1
    with instance.sessions() as session:
        assert session.get(Transfer, transfer_id).state == states.EXPIRED
        queued = session.scalars(
            select(OutboxMessage.args).where(OutboxMessage.school_id == pair.sender_id)
        ).all()
    assert [transfer_id, "offer_expired"] in [list(args) for args in queued]


def _rows(instance: Instance, transfer_id: int, which: str) -> list[int]:
    with instance.sessions() as session:
        rows = session.execute(
            select(OutboxMessage.id, OutboxMessage.args).where(
                OutboxMessage.transfer_id == transfer_id
            )
        ).all()
    return [row_id for row_id, args in rows if list(args) == [transfer_id, which]]


def _events(instance: Instance, school_id: int, uid: str) -> list[str]:
    with instance.sessions() as session:
        return list(
            session.scalars(
                select(AuditEntry.event)
                .where(AuditEntry.school_id == school_id, AuditEntry.object_id == uid)
                .order_by(AuditEntry.seq)
            )
        )


def test_a_withdrawal_that_overtakes_its_offer_in_the_outbox_sends_neither(
    instance: Instance, pair: Pair, transport: WsgiTransport
) -> None:
    # Found by the workflow machine: the offer's row had not run when the DSL withdrew; the
    # notice went first and was refused, then the offer went and the receiver held an offer
    # the sender had withdrawn.
    transfer_id, uid, _offer = offer_transfer(instance, pair)
    _act(instance, pair.sender_dsl_id, transfer_id, "withdraw", reason="Wrong school chosen")
    runner = inline_sender(instance, transport)
    notice, offer = (
        _rows(instance, transfer_id, "notice"),
        _rows(instance, transfer_id, "offer"),
    )
    assert dispatch(instance.sessions, runner, notice) == 1
    assert dispatch(instance.sessions, runner, offer) == 1
    with instance.sessions() as session:
        assert incoming.find_transfer(session, pair.receiver_id, uid, INCOMING) is None
        sent = session.get(Transfer, transfer_id)
        assert sent.state == states.WITHDRAWN
        assert sent.last_delivery_error is None  # Nothing was refused: nothing went.
        left = session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.transfer_id == transfer_id, OutboxMessage.ran_at.is_(None))
        )
    assert left == 0
    events = _events(instance, pair.sender_id, uid)
    assert {"transfer.notice_withheld", "transfer.offer_withheld"} <= set(events)
    assert not {"transfer.offer_sent", "transfer.notice_sent"} & set(events)


def test_a_withdrawal_after_the_offer_was_handed_to_a_worker_is_sent(
    instance: Instance, pair: Pair, transport: WsgiTransport
) -> None:
    # The worker may have posted the offer and died before marking its row: the notice goes.
    transfer_id, uid, offer = offer_transfer(instance, pair)
    with instance.sessions() as session:
        url = partner_url(session.get(Transfer, transfer_id), "offers")
    assert transport.post(url, offer).status == 202  # Posted; the row is left unmarked.
    with transaction(instance.sessions) as session:
        for row_id in _rows(instance, transfer_id, "offer"):
            session.get(OutboxMessage, row_id).dispatched_at = utcnow()
    _act(instance, pair.sender_dsl_id, transfer_id, "withdraw", reason="Family moved again")
    _send(instance, transfer_id, "notice", transport)
    assert _received(instance, pair, uid).state == states.WITHDRAWN
