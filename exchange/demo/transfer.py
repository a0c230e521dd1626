"""Complete one transfer between the two demo schools, so a new user sees every step."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from exchange.db import transaction
from exchange.demo.generate import DemoData
from exchange.instance import Instance
from exchange.outbox.service import Sender, dispatch, written_in
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
from exchange.transfers import incoming, workflow
from exchange.transfers.actors import Actor
from exchange.transfers.client import WsgiTransport
from exchange.transfers.effects import inline_sender
from exchange.transfers.models import INCOMING, OUTGOING, Transfer
from exchange.transfers.redaction_step import unresolved_flags

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
        partner = find_partner(session, sender.id, receiver.urn)
        transfer = workflow.start(
            session, instance, sender, "create", dsl, pupil=pupil, partner=partner
        )
        workflow.apply(session, instance, transfer, "start_review", dsl)
        transfer_id = transfer.id
        pending = written_in(session)
    # The vault documents are redacted by a task; the demo runs it here, at once.
    dispatch(instance.sessions, _redact_here(instance), pending)
    with transaction(instance.sessions) as session:
        transfer = session.get(Transfer, transfer_id)
        dsl = _dsl(session, _school(session, sender_urn))
        for review in unresolved_flags(session, transfer):
            resolution = "excluded" if review.kind == "document" else "confirmed"
            workflow.apply(
                session,
                instance,
                transfer,
                "resolve_flag",
                dsl,
                review_id=review.id,
                resolution=resolution,
                note=DEMO_NOTE,
            )
        workflow.apply(session, instance, transfer, "offer", dsl)
        transfer_id, uid = transfer.id, transfer.transfer_uid
        pending = written_in(session)
    from exchange.web import create_app

    # Both demo schools live in this process: their messages go through the web app itself,
    # and each effect runs at once instead of waiting for a worker.
    app = create_app(dict(instance.config))
    send = inline_sender(instance, WsgiTransport(app))
    app.extensions["task_runner"] = send
    try:
        dispatch(instance.sessions, send, pending)
        _run(instance, send, transfer_id, uid, sender_urn, receiver_urn)
    finally:
        app.extensions["exchange"].close()
    with instance.sessions() as session:
        return session.get(Transfer, transfer_id)


def _run(
    instance: Instance,
    send: Sender,
    transfer_id: int,
    uid: str,
    sender_urn: str,
    receiver_urn: str,
) -> None:
    with transaction(instance.sessions) as session:
        receiver = _school(session, receiver_urn)
        received = incoming.find_transfer(session, receiver.id, uid, INCOMING)
        workflow.apply(
            session, instance, received, "accept", _dsl(session, receiver), on_roll_confirmed=True
        )
        pending = written_in(session)
    dispatch(instance.sessions, send, pending)
    with transaction(instance.sessions) as session:
        transfer = session.get(Transfer, transfer_id)
        dsl = _dsl(session, _school(session, sender_urn))
        workflow.apply(
            session,
            instance,
            transfer,
            "record_conversation",
            dsl,
            held_on=date.today(),
            participants="The two schools' DSLs (demo)",
            summary="Demo summary: needs a trusted adult at the start of each day; "
            "an attendance plan is in place.",
        )
        workflow.apply(session, instance, transfer, "authorise", dsl, fresh_second_factor=True)
        pending = written_in(session)
    dispatch(instance.sessions, send, pending)


def _redact_here(instance: Instance) -> Sender:
    """Return a sender that runs the vault redaction task in this process."""
    from exchange.transfers.vault_task import redact_vault

    def send(_task: str, args: list, outbox_id: int) -> None:
        redact_vault(instance, args[0], outbox_id)

    return send


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
