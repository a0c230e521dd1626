"""Forged, replayed, misaddressed, stale, tampered and repeated messages between schools."""

from __future__ import annotations

import base64
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select
from transfer_kit import Pair, accept_offer, actor, authorise_transfer, offer_transfer

from exchange.db import transaction
from exchange.instance import Instance
from exchange.packaging.keys import SigningKey, load_signing_key
from exchange.records.models import Incident, School
from exchange.transfers import incoming, states, workflow
from exchange.transfers.bundle_step import outbox_path
from exchange.transfers.client import WsgiTransport
from exchange.transfers.delivery import deliver, partner_url
from exchange.transfers.messages import (
    BUNDLE_UPLOAD,
    OFFER,
    MessageRefused,
    sign_message,
    verify_message,
)
from exchange.transfers.models import INCOMING, Transfer
from exchange.transfers.partner_messages import expire_offers
from exchange.transfers.workflow_types import ActionRefused
from exchange.web import create_app


def _offered(instance: Instance, pair: Pair, transport: WsgiTransport) -> tuple[int, str, str, str]:
    transfer_id, uid, offer = offer_transfer(instance, pair)
    with instance.sessions() as session:
        url = partner_url(session.get(Transfer, transfer_id), "offers")
    assert transport.post(url, offer).status == 202
    return transfer_id, uid, offer, url


def _ready_to_deliver(instance: Instance, pair: Pair, transport: WsgiTransport) -> tuple[int, str]:
    transfer_id, uid, _, _ = _offered(instance, pair, transport)
    answer = accept_offer(instance, pair, uid)
    with instance.sessions() as session:
        received = incoming.find_transfer(session, pair.receiver_id, uid, INCOMING)
        assert transport.post(partner_url(received, "offer-responses"), answer).status == 200
    authorise_transfer(instance, pair, transfer_id)
    return transfer_id, uid


def _upload(
    instance: Instance, pair: Pair, transfer_id: int, body: bytes
) -> tuple[str, dict[str, str]]:
    with instance.sessions() as session:
        transfer = session.get(Transfer, transfer_id)
        sender = session.get(School, pair.sender_id)
        key = load_signing_key(session, sender.id, instance.instance_key)
        upload = sign_message(
            {
                "transfer_id": transfer.transfer_uid,
                "ciphertext_sha256": transfer.bundle_sha256,
                "size": len(body),
            },
            key,
            BUNDLE_UPLOAD,
            sender.urn,
            transfer.partner.urn,
        )
        digest = base64.b64encode(bytes.fromhex(transfer.bundle_sha256)).decode()
        url = partner_url(transfer, "transfers", transfer.transfer_uid, "bundle")
    return url, {"Content-Digest": f"sha-256=:{digest}:", "Exchange-Message": upload}


def test_a_replayed_offer_is_refused(
    instance: Instance, pair: Pair, transport: WsgiTransport
) -> None:
    _, _, offer, url = _offered(instance, pair, transport)
    reply = transport.post(url, offer)
    assert reply.status == 409
    assert "replay" in reply.body["message"]


def test_a_message_signed_by_an_unknown_key_is_refused(
    instance: Instance, pair: Pair, transport: WsgiTransport
) -> None:
    with instance.sessions() as session:
        sender, receiver = (
            session.get(School, pair.sender_id),
            session.get(School, pair.receiver_id),
        )
    forged = sign_message(
        {"transfer_id": "x"}, SigningKey.generate(), OFFER, sender.urn, receiver.urn
    )
    url = f"{instance.config['PUBLIC_URL']}/s2s/v1/schools/{receiver.urn}/offers"
    reply = transport.post(url, forged)
    assert reply.status == 403
    assert "step 3" in reply.body["message"]


def test_a_message_for_another_school_is_refused(
    instance: Instance, pair: Pair, transport: WsgiTransport
) -> None:
    with instance.sessions() as session:
        sender, receiver = (
            session.get(School, pair.sender_id),
            session.get(School, pair.receiver_id),
        )
        key = load_signing_key(session, sender.id, instance.instance_key)
    token = sign_message({"transfer_id": "x"}, key, OFFER, sender.urn, "123456")
    reply = transport.post(
        f"{instance.config['PUBLIC_URL']}/s2s/v1/schools/{receiver.urn}/offers", token
    )
    assert reply.status == 403
    assert "step 4" in reply.body["message"]


def test_a_stale_message_is_refused(instance: Instance, pair: Pair) -> None:
    with transaction(instance.sessions) as session:
        sender, receiver = (
            session.get(School, pair.sender_id),
            session.get(School, pair.receiver_id),
        )
        key = load_signing_key(session, sender.id, instance.instance_key)
        token = sign_message({"transfer_id": "x"}, key, OFFER, sender.urn, receiver.urn)
        with pytest.raises(MessageRefused, match="step 5: the message is too old"):
            verify_message(session, receiver, token, OFFER, now=time.time() + 3600)
        with pytest.raises(MessageRefused, match="step 5: the message is dated in the future"):
            verify_message(session, receiver, token, OFFER, now=time.time() - 3600)


def test_a_rejection_reaches_the_sender_with_its_reason(
    instance: Instance, pair: Pair, transport: WsgiTransport
) -> None:
    transfer_id, uid, _, _ = _offered(instance, pair, transport)
    with transaction(instance.sessions) as session:
        received = incoming.find_transfer(session, pair.receiver_id, uid, INCOMING)
        dsl = actor(session, pair.receiver_dsl_id)
        with pytest.raises(ActionRefused, match="reason"):
            workflow.apply(session, instance, received, "reject", dsl)
        token = workflow.apply(
            session, instance, received, "reject", dsl, reason="The child is not joining us."
        )
        back = partner_url(received, "offer-responses")
    assert transport.post(back, token).status == 200
    with instance.sessions() as session:
        transfer = session.get(Transfer, transfer_id)
        assert transfer.state == states.REJECTED
        assert transfer.reject_reason == "The child is not joining us."


def test_an_expired_offer_cannot_be_accepted(
    instance: Instance, pair: Pair, transport: WsgiTransport
) -> None:
    _, uid, _, _ = _offered(instance, pair, transport)
    with transaction(instance.sessions) as session:
        received = incoming.find_transfer(session, pair.receiver_id, uid, INCOMING)
        received.offer_expires_at = received.offer_expires_at.replace(year=2020)
    with transaction(instance.sessions) as session:
        received = incoming.find_transfer(session, pair.receiver_id, uid, INCOMING)
        assert expire_offers(session, instance, pair.receiver_id) == 1
        assert received.state == states.EXPIRED


def test_the_same_upload_twice_gives_the_same_receipt_and_imports_once(
    instance: Instance, pair: Pair, transport: WsgiTransport
) -> None:
    transfer_id, _ = _ready_to_deliver(instance, pair, transport)
    with instance.sessions() as session:
        body = outbox_path(instance, session.get(Transfer, transfer_id))
    url, headers = _upload(instance, pair, transfer_id, body.read_bytes())
    first = transport.put_file(url, body, headers)
    url, headers = _upload(instance, pair, transfer_id, body.read_bytes())
    second = transport.put_file(url, body, headers)
    assert first.status == second.status == 200
    assert first.body["receipt"] == second.body["receipt"]
    with instance.sessions() as session:
        count = session.scalar(
            select(func.count()).select_from(Incident).filter_by(school_id=pair.receiver_id)
        )
    assert count == 1


def test_different_bytes_after_a_complete_receipt_are_a_conflict(
    instance: Instance, pair: Pair, transport: WsgiTransport, tmp_path: Path
) -> None:
    transfer_id, _ = _ready_to_deliver(instance, pair, transport)
    with instance.sessions() as session:
        body = outbox_path(instance, session.get(Transfer, transfer_id))
    url, headers = _upload(instance, pair, transfer_id, body.read_bytes())
    assert transport.put_file(url, body, headers).status == 200
    other = tmp_path / "other.age"
    other.write_bytes(body.read_bytes() + b"x")
    url, headers = _upload(instance, pair, transfer_id, other.read_bytes())
    assert transport.put_file(url, other, headers).status == 409


def test_a_bundle_changed_in_transit_is_refused_and_the_sender_sees_it(
    instance: Instance, pair: Pair, transport: WsgiTransport
) -> None:
    transfer_id, uid = _ready_to_deliver(instance, pair, transport)

    class Tampering(WsgiTransport):
        def put_file(self, url, path, headers):  # type: ignore[no-untyped-def]
            data = bytearray(path.read_bytes())
            data[len(data) // 2] ^= 0x01
            changed = path.with_suffix(".changed")
            changed.write_bytes(bytes(data))
            return super().put_file(url, changed, headers)

    app = create_app(dict(instance.config))
    with transaction(instance.sessions) as session:
        state = deliver(session, instance, session.get(Transfer, transfer_id), Tampering(app))
    app.extensions["exchange"].close()
    assert state == states.FAILED
    with instance.sessions() as session:
        sent = session.get(Transfer, transfer_id)
        assert sent.receipt_disposition == "rejected"
        assert "changed in transit" in sent.last_delivery_error
        got = incoming.find_transfer(session, pair.receiver_id, uid, INCOMING)
        assert got.state == states.ACCEPTED
        assert (
            session.scalar(
                select(func.count()).select_from(Incident).filter_by(school_id=pair.receiver_id)
            )
            == 0
        )


def test_uploads_without_a_digest_or_for_unknown_transfers_are_refused(
    instance: Instance, pair: Pair, transport: WsgiTransport, tmp_path: Path
) -> None:
    body = tmp_path / "b.age"
    body.write_bytes(b"age-encryption.org/v1\n")
    with instance.sessions() as session:
        receiver = session.get(School, pair.receiver_id)
    base = f"{instance.config['PUBLIC_URL']}/s2s/v1/schools/{receiver.urn}/transfers"
    assert (
        transport.put_file(f"{base}/00000000-0000-0000-0000-000000000000/bundle", body, {}).status
        == 400
    )
    headers = {"Content-Digest": "sha-256=:" + "A" * 43 + "=:", "Exchange-Message": "x.y.z"}
    assert transport.put_file(f"{base}/not-a-uuid/bundle", body, headers).status == 404
    assert (
        transport.put_file(
            f"{base}/00000000-0000-0000-0000-000000000000/bundle", body, headers
        ).status
        == 403
    )
    assert (
        transport.post(
            f"{instance.config['PUBLIC_URL']}/s2s/v1/schools/000000/offers", "a.b.c"
        ).status
        == 404
    )
