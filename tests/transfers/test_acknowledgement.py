"""Read and acted on: the receiving DSL's acknowledgement reaches the sender (protocol 1.2), and
the receiving DSL is emailed when its receipt is countersigned."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select
from transfer_kit import Pair, actor, run_transfer

from exchange.db import transaction
from exchange.instance import Instance
from exchange.outbox.models import OutboxMessage
from exchange.packaging.keys import load_signing_key
from exchange.records.models import School
from exchange.transfers import incoming, states, workflow
from exchange.transfers.acknowledgement import acknowledgement_of
from exchange.transfers.client import WsgiTransport
from exchange.transfers.delivery import partner_url
from exchange.transfers.effects import send_message
from exchange.transfers.messages import NOTICE, sign_message
from exchange.transfers.models import INCOMING, Transfer
from exchange.transfers.workflow_types import ActionRefused


def _both(instance: Instance, pair: Pair, transport: WsgiTransport) -> tuple[int, int]:
    sent_id = run_transfer(instance, pair, transport)
    with instance.sessions() as session:
        uid = session.get(Transfer, sent_id).transfer_uid
        got = incoming.find_transfer(session, pair.receiver_id, uid, INCOMING)
        assert got is not None
        return sent_id, got.id


def _queued(instance: Instance, school_id: int) -> list[list[object]]:
    with instance.sessions() as session:
        rows = session.scalars(
            select(OutboxMessage.args).where(OutboxMessage.school_id == school_id)
        ).all()
    return [list(args) for args in rows]


def _acknowledge(instance: Instance, pair: Pair, got_id: int, actions: list[str]) -> None:
    with transaction(instance.sessions) as session:
        workflow.apply(
            session,
            instance,
            session.get(Transfer, got_id),
            "acknowledge",
            actor(session, pair.receiver_dsl_id),
            actions=actions,
            on=date(2026, 11, 23),
        )


def test_the_countersignature_emails_the_receiving_dsl_only(
    instance: Instance, pair: Pair, transport: WsgiTransport
) -> None:
    sent_id, got_id = _both(instance, pair, transport)
    with instance.sessions() as session:
        assert session.get(Transfer, got_id).state == states.CLOSED
    assert [got_id, "receipt_countersigned"] in _queued(instance, pair.receiver_id)
    assert [sent_id, "receipt_countersigned"] not in _queued(instance, pair.sender_id)


def test_the_acknowledgement_reaches_the_sender_without_changing_its_state(
    instance: Instance, pair: Pair, transport: WsgiTransport
) -> None:
    sent_id, got_id = _both(instance, pair, transport)
    with instance.sessions() as session:
        before = session.get(Transfer, sent_id).state
        assert acknowledgement_of(session, session.get(Transfer, sent_id)) is None
    with pytest.raises(ActionRefused, match="read the file in full"):
        _acknowledge(instance, pair, got_id, ["senco"])
    _acknowledge(instance, pair, got_id, ["senco", "read", "made-up"])
    assert [got_id, "notice"] in _queued(instance, pair.receiver_id)
    with pytest.raises(ActionRefused, match="already recorded"):
        _acknowledge(instance, pair, got_id, ["read"])
    with transaction(instance.sessions) as session:
        send_message(session, session.get(Transfer, got_id), "notice", transport)
        assert session.get(Transfer, got_id).last_delivery_error is None
    with instance.sessions() as session:
        here = acknowledgement_of(session, session.get(Transfer, got_id))
        there = acknowledgement_of(session, session.get(Transfer, sent_id))
        sent = session.get(Transfer, sent_id)
        assert sent.state == before
        assert sent.partner_notice_jws
    assert here is not None
    assert there is not None
    assert here.actions == there.actions == ("read", "senco")
    assert there.on == date(2026, 11, 23)
    assert there.words == ["Read the file in full", "Told the SENCO"]
    assert here.user_id == pair.receiver_dsl_id
    assert there.user_id is None


def test_a_malformed_or_second_acknowledgement_is_refused(
    instance: Instance, pair: Pair, transport: WsgiTransport
) -> None:
    sent_id, _got_id = _both(instance, pair, transport)
    with instance.sessions() as session:
        sender = session.get(School, pair.sender_id)
        receiver = session.get(School, pair.receiver_id)
        key = load_signing_key(session, receiver.id, instance.instance_key)
        sent = session.get(Transfer, sent_id)
        url = partner_url(
            incoming.find_transfer(session, receiver.id, sent.transfer_uid, INCOMING), "notices"
        )
        base = {
            "transfer_id": sent.transfer_uid,
            "offer_sha256": sent.offer_sha256,
            "notice": "acknowledged",
            "reason": None,
        }

    def notice(acknowledged: object) -> str:
        body = {**base, "acknowledged": acknowledged}
        return sign_message(body, key, NOTICE, receiver.urn, sender.urn)

    assert transport.post(url, notice(None)).status == 403
    assert transport.post(url, notice({"on": "2026-11-23", "actions": ["senco"]})).status == 403
    assert transport.post(url, notice({"on": "2026-11-23", "actions": ["read", "x"]})).status == 403
    assert transport.post(url, notice({"on": "23/11/2026", "actions": ["read"]})).status == 403
    with instance.sessions() as session:
        assert acknowledgement_of(session, session.get(Transfer, sent_id)) is None
    assert transport.post(url, notice({"on": "2026-11-23", "actions": ["read"]})).status == 200
    assert transport.post(url, notice({"on": "2026-11-24", "actions": ["read"]})).status == 400
    with instance.sessions() as session:
        there = acknowledgement_of(session, session.get(Transfer, sent_id))
    assert there is not None
    assert there.on == date(2026, 11, 23)
