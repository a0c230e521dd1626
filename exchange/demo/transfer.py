"""Complete one transfer between the two demo schools, so a new user sees every step."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from exchange.db import transaction
from exchange.demo.generate import DemoData
from exchange.instance import Instance
from exchange.packaging.keys import KIND_SIGNING, current_key, generate_keys
from exchange.partners.service import (
    confirm_partner,
    enrol_partner,
    find_partner,
    is_confirmed,
    own_card,
    pending_safety_number,
)
from exchange.records.models import Pupil, School, User
from exchange.transfers import incoming, outgoing
from exchange.transfers.actors import Actor
from exchange.transfers.client import WsgiTransport
from exchange.transfers.delivery import deliver, partner_url, send_countersignature
from exchange.transfers.models import INCOMING, OUTGOING, Transfer
from exchange.transfers.redaction_step import resolve_flag, unresolved_flags

DEMO_NOTE = "Demo: checked by the DSL."


def complete_demo_transfer(instance: Instance, data: DemoData) -> Transfer | None:
    """Run one leaver's transfer from draft to closed at both schools; once only."""
    sender_urn, receiver_urn = (school.urn for school in data.schools[:2])
    with transaction(instance.sessions) as session:
        sender, receiver = _school(session, sender_urn), _school(session, receiver_urn)
        for school in (sender, receiver):
            if current_key(session, school.id, KIND_SIGNING) is None:
                generate_keys(session, school.id, instance.instance_key)
        _enrol(session, instance, sender, receiver)
        _enrol(session, instance, receiver, sender)
        existing = session.scalar(
            select(Transfer).where(Transfer.school_id == sender.id, Transfer.direction == OUTGOING)
        )
        if existing is not None:
            return existing
        pupil = session.scalar(
            select(Pupil)
            .where(Pupil.school_id == sender.id, Pupil.destination_urn == receiver.urn)
            .order_by(Pupil.id)
        )
        if pupil is None:
            return None
        dsl = _dsl(session, sender)
        transfer = outgoing.create_transfer(
            session, sender, dsl, pupil, find_partner(session, sender.id, receiver.urn)
        )
        outgoing.start_review(session, instance, transfer, dsl)
        for review in unresolved_flags(session, transfer):
            resolution = "excluded" if review.kind == "document" else "confirmed"
            resolve_flag(session, instance, transfer, review.id, resolution, DEMO_NOTE, dsl)
        offer = outgoing.make_offer(session, instance, transfer, dsl)
        transfer_id, uid = transfer.id, transfer.transfer_uid
    from exchange.web import create_app

    app = create_app(dict(instance.config))
    transport = WsgiTransport(app)
    try:
        _run(instance, transport, transfer_id, uid, offer, sender_urn, receiver_urn)
    finally:
        app.extensions["exchange"].close()
    with instance.sessions() as session:
        return session.get(Transfer, transfer_id)


def _run(
    instance: Instance,
    transport: WsgiTransport,
    transfer_id: int,
    uid: str,
    offer: str,
    sender_urn: str,
    receiver_urn: str,
) -> None:
    with instance.sessions() as session:
        transport.post(partner_url(session.get(Transfer, transfer_id), "offers"), offer)
    with transaction(instance.sessions) as session:
        receiver = _school(session, receiver_urn)
        received = incoming.find_transfer(session, receiver.id, uid, INCOMING)
        answer = incoming.respond_to_offer(
            session,
            instance,
            received,
            _dsl(session, receiver),
            accept=True,
            on_roll_confirmed=True,
        )
        back = partner_url(received, "offer-responses")
    transport.post(back, answer)
    with transaction(instance.sessions) as session:
        transfer = session.get(Transfer, transfer_id)
        dsl = _dsl(session, _school(session, sender_urn))
        outgoing.record_conversation(
            session,
            transfer,
            dsl,
            date.today(),
            "The two schools' DSLs (demo)",
            "Demo summary: needs a trusted adult at the start of each day; "
            "an attendance plan is in place.",
        )
        outgoing.authorise(session, instance, transfer, dsl, fresh_second_factor=True)
    for step in (deliver, send_countersignature):
        with transaction(instance.sessions) as session:
            step(session, instance, session.get(Transfer, transfer_id), transport)


def _school(session: Session, urn: str) -> School:
    return session.scalar(select(School).where(School.urn == urn))


def _dsl(session: Session, school: School) -> Actor:
    user = session.scalar(select(User).where(User.school_id == school.id, User.role == "dsl"))
    return Actor.of(user, request_id="demo")


def _enrol(session: Session, instance: Instance, school: School, other: School) -> None:
    """Put `other` in `school`'s directory at this instance's address, confirmed by its DSL."""
    partner = enrol_partner(
        session, school.id, own_card(session, other, instance.config["PUBLIC_URL"])
    )
    if not is_confirmed(session, partner):
        dsl = session.scalar(select(User).where(User.school_id == school.id, User.role == "dsl"))
        confirm_partner(session, partner, pending_safety_number(session, partner), dsl)
