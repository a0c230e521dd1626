"""Set up two schools that know each other, and a child with records, for transfer tests."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, date, datetime

from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas
from sqlalchemy.orm import Session

from exchange.db import transaction
from exchange.instance import Instance
from exchange.outbox.service import Sender, already_ran, dispatch, mark_ran, written_in
from exchange.packaging.keys import generate_keys
from exchange.partners.service import (
    confirm_partner,
    enrol_partner,
    find_partner,
    own_card,
    pending_safety_number,
)
from exchange.policy.service import apply_preset, find_category
from exchange.records.models import (
    Incident,
    IncidentAction,
    Pupil,
    School,
    StaffMember,
    User,
    VaultDocument,
)
from exchange.records.schools import add_school, add_user
from exchange.records.upn import make_upn
from exchange.tasks import names
from exchange.transfers import incoming, workflow
from exchange.transfers.actors import Actor
from exchange.transfers.client import WsgiTransport
from exchange.transfers.delivery import deliver, partner_url, send_countersignature
from exchange.transfers.models import INCOMING, Transfer
from exchange.transfers.notify import send_for
from exchange.transfers.redaction_step import reviews, unresolved_flags
from exchange.transfers.vault_task import redact_vault
from exchange.vault.pupil_keys import blob_context, pupil_data_key

SUBJECT = ("Maisie", "Thornbury")
OTHER_CHILD = ("Ollie", "Pemberton")
# Added to a narrative after its review by change_records_after_review.
MARKER = "Reviewed again by the core group on Tuesday"


@dataclass
class Pair:
    """The ids of two schools, their DSLs, and the child leaving the first."""

    sender_id: int
    receiver_id: int
    sender_dsl_id: int
    receiver_dsl_id: int
    pupil_id: int
    other_pupil_id: int


def make_pdf(lines: list[str]) -> bytes:
    """Return a one-page PDF with these lines of real text."""
    buffer = io.BytesIO()
    page = canvas.Canvas(buffer, pagesize=A4)
    for number, line in enumerate(lines):
        page.drawString(72, 760 - 18 * number, line)
    page.showPage()
    page.save()
    return buffer.getvalue()


def school_with_keys(session: Session, instance: Instance, number: int, preset: str) -> School:
    """Create a school with keys, a DSL and a policy preset."""
    school = add_school(
        session, f"{990100 + number}", f"{9990100 + number}", f"Flow School {number}"
    )
    generate_keys(session, school.id, instance.instance_key)
    apply_preset(session, school, preset)
    add_user(session, school, "dsl", f"Dsl {number}", f"dsl{number}@example.org")
    add_user(session, school, "dpo", f"Dpo {number}", f"dpo{number}@example.org")
    return school


def introduce(session: Session, school: School, other: School, url: str) -> None:
    """Enrol `other` in `school`'s directory and confirm its safety number as a DSL would."""
    partner = enrol_partner(session, school.id, own_card(session, other, url))
    dsl = session.query(User).filter_by(school_id=school.id, role="dsl").one()
    confirm_partner(session, partner, pending_safety_number(session, partner), dsl)


def child_with_records(session: Session, instance: Instance, school: School) -> tuple[Pupil, Pupil]:
    """Create the leaving child, another child named in the records, and a vault PDF."""
    subject = Pupil(
        school_id=school.id,
        upn=make_upn(school.laestab, 24, 1),
        forename=SUBJECT[0],
        surname=SUBJECT[1],
        date_of_birth=date(2016, 4, 2),
        year_group="4",
        leaving_date=date(2026, 11, 20),
    )
    other = Pupil(
        school_id=school.id,
        upn=make_upn(school.laestab, 24, 2),
        forename=OTHER_CHILD[0],
        surname=OTHER_CHILD[1],
        date_of_birth=date(2016, 6, 9),
    )
    staff = StaffMember(
        school_id=school.id, source_system="t", source_id="s1", name="Teacher Abbott"
    )
    session.add_all([subject, other, staff])
    session.flush()
    incident = Incident(
        school_id=school.id,
        pupil_id=subject.id,
        occurred_at=datetime(2026, 10, 1, 10, 30, tzinfo=UTC),
        recorded_at=datetime(2026, 10, 1, 12, 0, tzinfo=UTC),
        narrative=f"{SUBJECT[0]} said {OTHER_CHILD[0]} {OTHER_CHILD[1]} pushed her at break.",
        status="open",
        author=staff,
    )
    incident.categories.append(find_category(session, school, _transferable_path(school)))
    session.add(incident)
    session.flush()
    session.add(
        IncidentAction(
            school_id=school.id,
            incident_id=incident.id,
            text=f"Spoke to {OTHER_CHILD[0]}'s parents.",
            author=staff,
            acted_at=datetime(2026, 10, 2, 9, 0, tzinfo=UTC),
        )
    )
    key = pupil_data_key(session, subject, instance.instance_key)
    pdf = make_pdf(["Core group minutes", f"{OTHER_CHILD[0]} {OTHER_CHILD[1]} was present."])
    blob = instance.blobs.write(key, blob_context(subject), io.BytesIO(pdf), 10**7)
    session.add(
        VaultDocument(
            school_id=school.id,
            pupil_id=subject.id,
            incident_id=incident.id,
            original_filename="minutes.pdf",
            media_type="application/pdf",
            size=blob.size,
            sha256=blob.sha256,
            storage_key=blob.storage_key,
        )
    )
    session.flush()
    return subject, other


def _transferable_path(school: School) -> str:
    return "Bullying Allegation" if school.urn.endswith("1") else "Behaviour incident"


def actor(session: Session, user_id: int) -> Actor:
    """Return the actor of a user id."""
    return Actor.of(session.get(User, user_id))


def start_review(session: Session, instance: Instance, transfer: Transfer, dsl: Actor) -> None:
    """Redact what is selected, commit, and run the queued vault task at once, as a worker would."""
    workflow.apply(session, instance, transfer, "start_review", dsl)
    session.commit()
    dispatch(instance.sessions, vault_runner(instance), written_in(session))
    session.refresh(transfer)


def vault_runner(instance: Instance) -> Sender:
    """Return a sender that runs the vault redaction task (and any alert) in this process."""

    def send(task: str, args: list, outbox_id: int) -> None:
        if task == names.NOTIFY:  # e.g. "destination unknown", written by create
            with transaction(instance.sessions) as session:
                if not already_ran(session, outbox_id):
                    send_for(session, instance, session.get(Transfer, args[0]), args[1])
                    mark_ran(session, outbox_id)
            return
        assert task == names.REDACT_VAULT, task
        redact_vault(instance, args[0], outbox_id)

    return send


def reviewed_draft(session: Session, instance: Instance, pair: Pair) -> Transfer:
    """Draft the pair's transfer and run its redaction review, as the sending DSL."""
    sender = session.get(School, pair.sender_id)
    partner = find_partner(session, sender.id, session.get(School, pair.receiver_id).urn)
    dsl = actor(session, pair.sender_dsl_id)
    transfer = workflow.start(
        session,
        instance,
        sender,
        "create",
        dsl,
        pupil=session.get(Pupil, pair.pupil_id),
        partner=partner,
        today=date(2026, 11, 20),
    )
    start_review(session, instance, transfer, dsl)
    return transfer


def offer_transfer(instance: Instance, pair: Pair) -> tuple[int, str, str]:
    """Draft, review and sign an offer; return the transfer's row id, shared id and the offer."""
    with transaction(instance.sessions) as session:
        transfer = reviewed_draft(session, instance, pair)
        dsl = actor(session, pair.sender_dsl_id)
        token = workflow.apply(session, instance, transfer, "offer", dsl)
        return transfer.id, transfer.transfer_uid, token


def offered_and_accepted(
    instance: Instance, pair: Pair, transport: WsgiTransport
) -> tuple[int, str]:
    """Offer the file and have the receiving DSL accept it over the school-to-school API."""
    transfer_id, uid, offer = offer_transfer(instance, pair)
    with instance.sessions() as session:
        url = partner_url(session.get(Transfer, transfer_id), "offers")
    assert transport.post(url, offer).status == 202
    answer = accept_offer(instance, pair, uid)
    with instance.sessions() as session:
        received = incoming.find_transfer(session, pair.receiver_id, uid, INCOMING)
        back = partner_url(received, "offer-responses")
    assert transport.post(back, answer).status == 200
    return transfer_id, uid


def send_queued_offer(instance: Instance, transport: WsgiTransport, transfer_id: int) -> None:
    """Run the signed offer's outbox row as a worker would, so the receiving school holds it."""
    from sqlalchemy import select

    from exchange.outbox.models import OutboxMessage
    from exchange.transfers.effects import inline_sender

    with instance.sessions() as session:
        rows = session.execute(
            select(OutboxMessage.id, OutboxMessage.args).where(
                OutboxMessage.transfer_id == transfer_id
            )
        ).all()
    offer_rows = [row_id for row_id, args in rows if list(args) == [transfer_id, "offer"]]
    assert dispatch(instance.sessions, inline_sender(instance, transport), offer_rows) == 1


def accept_offer(instance: Instance, pair: Pair, transfer_uid: str) -> str:
    """Accept the offer as the receiving DSL; return the signed response."""
    with transaction(instance.sessions) as session:
        received = incoming.find_transfer(session, pair.receiver_id, transfer_uid, "incoming")
        dsl = actor(session, pair.receiver_dsl_id)
        return workflow.apply(session, instance, received, "accept", dsl, on_roll_confirmed=True)


def authorise_transfer(instance: Instance, pair: Pair, transfer_id: int) -> None:
    """Record the DSL conversation and authorise, which builds the bundle."""
    with transaction(instance.sessions) as session:
        transfer = session.get(Transfer, transfer_id)
        dsl = actor(session, pair.sender_dsl_id)
        workflow.apply(
            session,
            instance,
            transfer,
            "record_conversation",
            dsl,
            held_on=transfer.created_at.date(),
            participants="Dsl 1, Dsl 2",
            summary=f"{SUBJECT[0]} needs a trusted adult; {OTHER_CHILD[0]} must not share "
            "her class.",
        )
        flagged = [(r.kind, r.report) for r in unresolved_flags(session, transfer)]
        assert not flagged, f"the review flagged what it should not have: {flagged}"
        workflow.apply(session, instance, transfer, "authorise", dsl, fresh_second_factor=True)


def run_transfer(instance: Instance, pair: Pair, transport: WsgiTransport) -> int:
    """Take a transfer from draft to closed; return the sender's transfer row id."""
    transfer_id, uid, offer = offer_transfer(instance, pair)
    with instance.sessions() as session:
        transfer = session.get(Transfer, transfer_id)
        url = partner_url(transfer, "offers")
        assert [r.kind for r in reviews(session, transfer)] == ["action", "document", "incident"]
    assert transport.post(url, offer).status == 202
    response = accept_offer(instance, pair, uid)
    with instance.sessions() as session:
        received = incoming.find_transfer(session, pair.receiver_id, uid, INCOMING)
        back = partner_url(received, "offer-responses")
    assert transport.post(back, response).status == 200
    authorise_transfer(instance, pair, transfer_id)
    for step in (deliver, send_countersignature):
        with transaction(instance.sessions) as session:
            step(session, instance, session.get(Transfer, transfer_id), transport)
    return transfer_id


def change_records_after_review(instance: Instance, transfer_id: int) -> tuple[int, int]:
    """As a nightly import would: a new action naming the other child, a narrative corrected."""
    with transaction(instance.sessions) as session:
        transfer = session.get(Transfer, transfer_id)
        incident_id = next(i.object_id for i in transfer.items if i.kind == "incident")
        incident = session.get(Incident, incident_id)
        incident.narrative = f"{incident.narrative} {MARKER}."
        action = IncidentAction(
            school_id=incident.school_id,
            incident_id=incident.id,
            text=f"Referred to children's social care with {OTHER_CHILD[0]} {OTHER_CHILD[1]}.",
            acted_at=datetime(2026, 11, 25, 9, 0, tzinfo=UTC),
        )
        session.add(action)
        session.flush()
        return incident.id, action.id
