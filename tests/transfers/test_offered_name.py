"""Protocol 1.3: the offer names the child; checked strictly, sealed, destroyed when not needed."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select, text
from transfer_kit import SUBJECT, Pair, accept_offer, actor, offer_transfer, send_queued_offer

from exchange.db import transaction
from exchange.instance import Instance
from exchange.jws import unverified_payload
from exchange.packaging.keys import load_signing_key
from exchange.records.models import School
from exchange.transfers import incoming, states, workflow
from exchange.transfers.client import WsgiTransport
from exchange.transfers.delivery import partner_url
from exchange.transfers.messages import ENVELOPE_KEYS, OFFER, sign_message
from exchange.transfers.models import INCOMING, Transfer
from exchange.transfers.offered_name import BadName, parse_name
from exchange.transfers.partner_messages import expire_offers
from exchange.transfers.settings import update_settings

NAME = {"given": SUBJECT[0], "family": SUBJECT[1]}


@pytest.mark.parametrize(
    "value",
    [
        {"given": "Ana", "family": "Zoë Ó Briain-Ng"},
        {"given": "آرش", "family": "می\u200cخواهد"},  # A zero-width non-joiner is part of it.
        {"given": "<script>alert(1)</script>", "family": "&amp;"},  # Escaped where shown.
        {"given": "x" * 100, "family": "y"},
    ],
)
def test_a_valid_name_is_kept_as_sent(value: dict[str, str]) -> None:
    assert parse_name(value) == value


def test_a_missing_name_is_a_1_2_offer() -> None:
    assert parse_name(None) is None


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("Maisie Thornbury", "exactly given and family"),
        ({"given": "Maisie"}, "exactly given and family"),
        ({"given": "M", "family": "T", "middle": "X"}, "exactly given and family"),
        ({"given": 7, "family": "T"}, "must be text"),
        ({"given": "  ", "family": "T"}, "is empty"),
        ({"given": "x" * 101, "family": "T"}, "longer than 100"),
        ({"given": "Mai\x00sie", "family": "T"}, "U+0000"),
        ({"given": "Maisie", "family": "Thorn\nbury"}, "U+000A"),
        ({"given": "Maisie", "family": "\u202eyrubnrohT"}, "U+202E"),  # Right-to-left override.
        ({"given": "Maisie", "family": "Thorn\u2028bury"}, "U+2028"),
    ],
)
def test_a_malformed_name_is_refused(value: object, words: str) -> None:
    with pytest.raises(BadName, match=re.escape(words)):
        parse_name(value)


def _post_offer(instance: Instance, pair: Pair, transport: WsgiTransport, token: str) -> int:
    with instance.sessions() as session:
        transfer = incoming.find_transfer(
            session, pair.sender_id, unverified_payload(token)["transfer_id"], "outgoing"
        )
        return transport.post(partner_url(transfer, "offers"), token).status


def _resigned(instance: Instance, pair: Pair, token: str, name: object) -> str:
    """Return the sender's offer signed again with another pupil.name (as a hostile sender)."""
    body = {k: v for k, v in unverified_payload(token).items() if k not in ENVELOPE_KEYS}
    body["pupil"] = {**body["pupil"], "name": name}
    with instance.sessions() as session:
        sender = session.get(School, pair.sender_id)
        receiver = session.get(School, pair.receiver_id)
        key = load_signing_key(session, sender.id, instance.instance_key)
        return sign_message(body, key, OFFER, sender.urn, receiver.urn)


def _received(instance: Instance, pair: Pair, uid: str) -> Transfer | None:
    with instance.sessions() as session:
        found = incoming.find_transfer(session, pair.receiver_id, uid, INCOMING)
        if found is not None:
            session.expunge(found)
        return found


def test_the_offer_names_the_child_and_the_receiver_keeps_it_sealed(
    instance: Instance, pair: Pair, transport: WsgiTransport
) -> None:
    _, uid, token = offer_transfer(instance, pair)
    assert unverified_payload(token)["pupil"]["name"] == NAME
    assert _post_offer(instance, pair, transport, token) == 202
    got = _received(instance, pair, uid)
    assert got.pupil_id is None  # Not on the receiver's roll: the offer's name is all it has.
    assert got.offered_name == NAME
    assert got.offer_jws == token  # Kept, but sealed: the signed offer holds the name too.
    query = text("select offered_name, offer_jws, offer_jws_sealed from transfers where id = :i")
    with instance.sessions() as session:
        sent_id = session.scalar(
            select(Transfer.id).filter_by(transfer_uid=uid, school_id=pair.sender_id)
        )
        received, sent = (session.execute(query, {"i": i}).one() for i in (got.id, sent_id))
    assert bytes(received[0]).startswith(b"SGXF1")
    assert sent[0] is None  # The sending school has the name in the child's own record.
    for _name, clear, sealed in (received, sent):
        assert clear is None  # Neither school keeps an offer that names the child in clear.
        assert bytes(sealed).startswith(b"SGXF1")
        assert SUBJECT[1].encode() not in bytes(sealed)


def test_a_school_can_leave_the_name_out(
    instance: Instance, pair: Pair, transport: WsgiTransport
) -> None:
    with transaction(instance.sessions) as session:
        update_settings(session.get(School, pair.sender_id), offer_includes_name=False)
    _, uid, token = offer_transfer(instance, pair)
    assert "name" not in unverified_payload(token)["pupil"]
    assert _post_offer(instance, pair, transport, token) == 202
    assert _received(instance, pair, uid).offered_name is None


def test_the_setting_must_be_true_or_false(instance: Instance, pair: Pair) -> None:
    from exchange.errors import ValidationError

    with transaction(instance.sessions) as session, pytest.raises(ValidationError):
        update_settings(session.get(School, pair.sender_id), offer_includes_name="no")


@pytest.mark.parametrize(
    "name",
    [
        {"given": "<b>Maisie</b>\x07", "family": "Thornbury"},
        {"given": "Maisie", "family": "T" * 101},
        {"given": "Maisie"},
        "Maisie Thornbury",
    ],
)
def test_an_offer_with_a_bad_name_is_refused_and_nothing_is_stored(
    instance: Instance, pair: Pair, transport: WsgiTransport, name: object
) -> None:
    _, uid, token = offer_transfer(instance, pair)
    hostile = _resigned(instance, pair, token, name)
    with instance.sessions() as session:
        url = partner_url(
            incoming.find_transfer(session, pair.sender_id, uid, "outgoing"), "offers"
        )
    reply = transport.post(url, hostile)
    assert reply.status == 403
    assert "the offer is malformed: the pupil's" in reply.body["message"]
    assert _received(instance, pair, uid) is None
    with instance.sessions() as session:
        assert (
            session.scalar(
                select(func.count())
                .select_from(Transfer)
                .where(Transfer.school_id == pair.receiver_id)
            )
            == 0
        )


def test_an_unknown_member_is_ignored(
    instance: Instance, pair: Pair, transport: WsgiTransport
) -> None:
    _, uid, token = offer_transfer(instance, pair)
    body = {k: v for k, v in unverified_payload(token).items() if k not in ENVELOPE_KEYS}
    body["pupil"]["nickname"] = "Mai"  # A member a later version might add.
    body["future"] = {"anything": True}
    with instance.sessions() as session:
        sender, receiver = (
            session.get(School, pair.sender_id),
            session.get(School, pair.receiver_id),
        )
        key = load_signing_key(session, sender.id, instance.instance_key)
        later = sign_message(body, key, OFFER, sender.urn, receiver.urn)
    assert _post_offer(instance, pair, transport, later) == 202
    assert _received(instance, pair, uid).offered_name == NAME


def _offered(instance: Instance, pair: Pair, transport: WsgiTransport) -> str:
    transfer_id, uid, _token = offer_transfer(instance, pair)
    send_queued_offer(instance, transport, transfer_id)  # As the worker posts it.
    return uid


def test_rejection_destroys_the_name(
    instance: Instance, pair: Pair, transport: WsgiTransport
) -> None:
    uid = _offered(instance, pair, transport)
    with transaction(instance.sessions) as session:
        got = incoming.find_transfer(session, pair.receiver_id, uid, INCOMING)
        dsl = actor(session, pair.receiver_dsl_id)
        workflow.apply(session, instance, got, "reject", dsl, reason="Not joining us")
    got = _received(instance, pair, uid)
    assert (got.state, got.offered_name, got.offer_jws) == (states.REJECTED, None, None)
    assert got.offer_sha256  # Its signed response quotes the offer's hash, which stays.


def test_expiry_destroys_the_name(instance: Instance, pair: Pair, transport: WsgiTransport) -> None:
    from datetime import timedelta

    from exchange.db import utcnow

    uid = _offered(instance, pair, transport)
    with transaction(instance.sessions) as session:
        assert expire_offers(session, instance, pair.receiver_id, utcnow() + timedelta(days=60))
    got = _received(instance, pair, uid)
    assert (got.state, got.offered_name, got.offer_jws) == (states.EXPIRED, None, None)


def test_withdrawal_destroys_the_name(
    instance: Instance, pair: Pair, transport: WsgiTransport
) -> None:
    from exchange.transfers.effects import send_message

    uid = _offered(instance, pair, transport)
    with transaction(instance.sessions) as session:
        sent = incoming.find_transfer(session, pair.sender_id, uid, "outgoing")
        dsl = actor(session, pair.sender_dsl_id)
        workflow.apply(session, instance, sent, "withdraw", dsl, reason="Family stays")
    with transaction(instance.sessions) as session:
        sent = incoming.find_transfer(session, pair.sender_id, uid, "outgoing")
        send_message(session, sent, "notice", transport)
        assert sent.last_delivery_error is None, sent.last_delivery_error
    got = _received(instance, pair, uid)
    assert (got.state, got.offered_name, got.offer_jws) == (states.WITHDRAWN, None, None)


def test_acceptance_keeps_the_name_until_the_file_arrives(
    instance: Instance, pair: Pair, transport: WsgiTransport
) -> None:
    uid = _offered(instance, pair, transport)
    accept_offer(instance, pair, uid)
    got = _received(instance, pair, uid)
    assert (got.state, got.offered_name) == (states.ACCEPTED, NAME)


def test_the_imported_record_replaces_the_offered_name(
    instance: Instance, pair: Pair, transport: WsgiTransport
) -> None:
    from transfer_kit import run_transfer

    transfer_id = run_transfer(instance, pair, transport)
    with instance.sessions() as session:
        uid = session.get(Transfer, transfer_id).transfer_uid
    got = _received(instance, pair, uid)
    assert got.state == states.CLOSED
    assert got.offered_name is None  # The child's record, under its own key, has the name.
    assert got.pupil_id is not None
