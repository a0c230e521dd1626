"""Make many leavers, carry their offers and answers between schools, for batch tests."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.orm import Session

from exchange.db import transaction
from exchange.instance import Instance
from exchange.policy.service import find_category
from exchange.records.models import Incident, Pupil, School, StaffMember
from exchange.records.upn import make_upn
from exchange.transfers import incoming
from exchange.transfers.client import WsgiTransport
from exchange.transfers.delivery import deliver, partner_url, send_countersignature
from exchange.transfers.models import INCOMING, Transfer

FORENAMES = ("Amara", "Bexley", "Corin", "Delphine", "Ezra", "Fenna", "Gideon", "Hollis")
SURNAMES = ("Quenby", "Rowntree", "Starling", "Tiverton", "Umbridge", "Vantongeren")
# The transferable category of each preset's tree (see tests/transfer_kit.py).
TRANSFERABLE = {"bretherton": "Bullying Allegation", "holy_trinity": "Behaviour incident"}


def leaver_name(number: int) -> tuple[str, str]:
    """Return a generated forename and surname for the number-th leaver."""
    return FORENAMES[number % len(FORENAMES)], f"{SURNAMES[number % len(SURNAMES)]}{number}"


def make_leavers(
    session: Session, school: School, numbers: Iterable[int], preset: str = "bretherton"
) -> list[Pupil]:
    """Create leavers with one transferable incident each (no documents)."""
    staff = StaffMember(
        school_id=school.id,
        source_system="batch",
        source_id=f"s{school.id}",
        name="Teacher Ashdown",
    )
    session.add(staff)
    category = find_category(session, school, TRANSFERABLE[preset])
    made = []
    for number in numbers:
        forename, surname = leaver_name(number)
        pupil = Pupil(
            school_id=school.id,
            upn=make_upn(school.laestab, 26, number),
            forename=forename,
            surname=surname,
            date_of_birth=date(2015, 9, 1) + timedelta(days=number),
            year_group="6",
            leaving_date=date(2027, 7, 21),
        )
        session.add(pupil)
        session.flush()
        incident = Incident(
            school_id=school.id,
            pupil_id=pupil.id,
            occurred_at=datetime(2027, 3, 1, 10, 0, tzinfo=UTC),
            recorded_at=datetime(2027, 3, 1, 12, 0, tzinfo=UTC),
            narrative=f"{forename} said an older pupil took her lunch.",
            status="closed",
            author=staff,
        )
        incident.categories.append(category)
        session.add(incident)
        made.append(pupil)
    session.flush()
    return made


def put_on_roll(session: Session, school: School, leavers: Iterable[Pupil]) -> None:
    """Add the leavers to the receiving school's roll, as its admissions CTF would."""
    for leaver in leavers:
        session.add(
            Pupil(
                school_id=school.id,
                upn=leaver.upn,
                forename=leaver.forename,
                surname=leaver.surname,
                date_of_birth=leaver.date_of_birth,
                year_group="7",
            )
        )
    session.flush()


def post_offers(instance: Instance, transport: WsgiTransport, transfer_ids: Iterable[int]) -> None:
    """Carry each signed offer to the receiving school's API (the send task's job)."""
    with instance.sessions() as session:
        posts = []
        for transfer_id in transfer_ids:
            transfer = session.get(Transfer, transfer_id)
            posts.append((partner_url(transfer, "offers"), transfer.offer_jws))
    for url, token in posts:
        assert transport.post(url, token).status == 202


def post_answers(
    instance: Instance, transport: WsgiTransport, school_id: int, transfer_uids: Iterable[str]
) -> None:
    """Carry the receiving school's signed answers back to the sender."""
    with instance.sessions() as session:
        posts = []
        for uid in transfer_uids:
            received = incoming.find_transfer(session, school_id, uid, INCOMING)
            posts.append((partner_url(received, "offer-responses"), received.response_jws))
    for url, token in posts:
        assert transport.post(url, token).status == 200


def deliver_each(instance: Instance, transport: WsgiTransport, transfer_ids: Iterable[int]) -> None:
    """Deliver each authorised bundle (the receiver imports it) and countersign its receipt."""
    for transfer_id in transfer_ids:
        for step in (deliver, send_countersignature):
            with transaction(instance.sessions) as session:
                step(session, instance, session.get(Transfer, transfer_id), transport)
