"""The sender copy: kept to retention, or destroyed N days after a verified complete receipt."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from exchange.instance import Instance
from exchange.partners.models import Partner
from exchange.records.models import Incident, Pupil
from exchange.retention.purge import purge_school
from exchange.transfers.models import RedactedText, Transfer, TransferItem
from tests.retention.support import World, add_incident, add_pupil, date_all, set_sender_copy

VERIFIED = datetime(2030, 1, 10, 15, 0, tzinfo=UTC)


def _transfer(session: Session, world: World, child: Pupil, incidents: list[Incident]) -> Transfer:
    partner = Partner(
        school_id=world.school.id, urn="200001", laestab="8000001", name="Next School"
    )
    session.add(partner)
    session.flush()
    transfer = Transfer(
        school_id=world.school.id,
        transfer_uid=str(uuid.uuid4()),
        direction="outgoing",
        state="delivered",
        partner_id=partner.id,
        pupil_id=child.id,
        pupil_upn=child.upn,
        pupil_dob=child.date_of_birth,
        conversation_summary=f"{child.forename} needs a key adult",
        receipt_jws="header.payload.signature",
    )
    session.add(transfer)
    session.flush()
    for incident in incidents:
        session.add(
            TransferItem(
                school_id=world.school.id,
                transfer_id=transfer.id,
                kind="incident",
                object_id=incident.id,
                included=True,
                by_policy=True,
            )
        )
        session.add(
            RedactedText(
                school_id=world.school.id,
                transfer_id=transfer.id,
                kind="incident",
                object_id=incident.id,
                text=incident.narrative,
            )
        )
    session.flush()
    return transfer


def _purge_on(instance: Instance, world: World, day: date) -> dict[str, int]:
    moment = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
    return purge_school(
        instance.sessions, instance.blobs, instance.instance_key, world.school.id, now=moment
    ).totals


def _setup(session: Session, world: World) -> tuple[Pupil, Incident, Incident, Transfer]:
    child = add_pupil(session, world, date(2016, 5, 17))
    sent = add_incident(session, world, child, ("Bullying",))
    kept = add_incident(session, world, child, ("Child Protection",))
    transfer = _transfer(session, world, child, [sent])
    date_all(session, world, child)
    set_sender_copy(session, world.school.id, 30, world.dpo)
    session.commit()
    return child, sent, kept, transfer


def test_nothing_goes_before_a_verified_receipt(
    rinstance: Instance, world: World, session: Session
) -> None:
    _child, sent, _kept, transfer = _setup(session, world)
    transfer.receipt_verified_at = None
    transfer.receipt_disposition = "complete"
    session.commit()
    assert _purge_on(rinstance, world, date(2031, 1, 1)).get("incidents", 0) == 0
    session.expire_all()
    assert session.get(Incident, sent.id) is not None


def test_an_incomplete_receipt_does_not_release_the_sender_copy(
    rinstance: Instance, world: World, session: Session
) -> None:
    _child, _sent, _kept, transfer = _setup(session, world)
    transfer.receipt_verified_at = VERIFIED
    transfer.receipt_disposition = "incomplete"
    session.commit()
    assert _purge_on(rinstance, world, date(2031, 1, 1)).get("incidents", 0) == 0


def test_the_sent_copy_goes_on_the_30th_day_after_a_verified_receipt(
    rinstance: Instance, world: World, session: Session
) -> None:
    child, sent, kept, transfer = _setup(session, world)
    child_id, sent_id, kept_id = child.id, sent.id, kept.id
    transfer.receipt_verified_at = VERIFIED
    transfer.receipt_disposition = "complete"
    session.commit()
    assert _purge_on(rinstance, world, date(2030, 2, 8)).get("incidents", 0) == 0
    totals = _purge_on(rinstance, world, date(2030, 2, 9))
    assert totals["incidents"] == 1
    session.expire_all()
    assert session.get(Incident, sent_id) is None
    assert session.get(Incident, kept_id) is not None  # Not sent: kept to its own date.
    assert session.scalars(select(RedactedText)).all() == []
    assert session.get(Transfer, transfer.id).pupil_id == child_id


def test_keep_means_the_sender_copy_stays_until_retention_then_the_transfer_is_minimised(
    rinstance: Instance, world: World, session: Session
) -> None:
    child, sent, _kept, transfer = _setup(session, world)
    upn, sent_id = child.upn, sent.id
    set_sender_copy(session, world.school.id, "keep", world.dpo)
    transfer.receipt_verified_at = VERIFIED
    transfer.receipt_disposition = "complete"
    session.commit()
    assert _purge_on(rinstance, world, date(2041, 5, 17)).get("incidents", 0) == 0
    totals = _purge_on(rinstance, world, date(2041, 5, 18))
    assert totals["incidents"] == 2
    assert totals["transfers_minimised"] == 1
    session.expire_all()
    kept_transfer = session.get(Transfer, transfer.id)
    assert kept_transfer.pupil_id is None
    assert kept_transfer.conversation_summary is None
    assert kept_transfer.receipt_jws == "header.payload.signature"
    assert kept_transfer.pupil_upn == upn
    assert len(session.scalars(select(TransferItem)).all()) == 1
    assert session.get(Incident, sent_id) is None
