"""Incidents naming several other children, and what a review filed, for the review-text tests."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from transfer_kit import SUBJECT

from exchange.db import transaction
from exchange.instance import Instance
from exchange.records.models import Incident, IncidentAction, Pupil, School, StaffMember
from exchange.records.upn import make_upn
from exchange.redaction.pipeline import process_text
from exchange.redaction.pseudonyms import PseudonymBook
from exchange.transfers.models import RedactedText, RedactionReview, Transfer
from exchange.transfers.people import people_to_consider, pupil_person_id

OTHERS = [("Tamsin", "Greaves"), ("Rufus", "Hollins"), ("Wren", "Kirkwood")]


def add_incidents(instance: Instance, pupil_id: int, count: int) -> None:
    """Give the child `count` incidents, with actions, naming other children in shifting order."""
    with transaction(instance.sessions) as session:
        subject = session.get(Pupil, pupil_id)
        school = session.get(School, subject.school_id)
        kit_incident = session.scalars(select(Incident).filter_by(pupil_id=pupil_id)).first()
        for number, (forename, surname) in enumerate(OTHERS):
            session.add(
                Pupil(
                    school_id=subject.school_id,
                    upn=make_upn(school.laestab, 25, 40 + number),
                    forename=forename,
                    surname=surname,
                    date_of_birth=date(2016, 2, 1 + number),
                )
            )
        staff = session.scalars(
            select(StaffMember).where(StaffMember.school_id == subject.school_id)
        ).first()
        start = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)  # Before the kit's incident: order matters.
        for number in range(count):
            first = OTHERS[(number * 2) % len(OTHERS)]
            second = OTHERS[(number + 1) % len(OTHERS)]
            incident = Incident(
                school_id=subject.school_id,
                pupil_id=subject.id,
                occurred_at=start + timedelta(days=3 * (count - number)),
                recorded_at=start + timedelta(days=3 * (count - number), hours=1),
                narrative=f"{SUBJECT[0]} and {first[0]} {first[1]} argued; {second[0]} saw it.",
                status="open",
                author=staff,
            )
            incident.categories.extend(kit_incident.categories)
            session.add(incident)
            session.flush()
            session.add(
                IncidentAction(
                    school_id=subject.school_id,
                    incident_id=incident.id,
                    text=f"Spoke to {second[0]} {second[1]}'s parents, then to {first[0]}.",
                    author=staff,
                    acted_at=incident.occurred_at + timedelta(hours=3),
                )
            )


def old_synchronous_texts(
    instance: Instance, transfer_id: int
) -> tuple[list[tuple[str, int, str]], dict[str, str]]:
    """Redact the texts as the request did before the task took them (the old code's loop)."""
    with instance.sessions() as session:
        transfer = session.get(Transfer, transfer_id)
        pupil = session.get(Pupil, transfer.pupil_id)
        people = people_to_consider(session, pupil)
        ids = sorted(i.object_id for i in transfer.items if i.kind == "incident" and i.included)
        incidents = session.scalars(
            select(Incident).where(Incident.id.in_(ids)).order_by(Incident.occurred_at)
        )
        book = PseudonymBook()
        texts = []
        for incident in incidents:
            for kind, object_id, text in [("incident", incident.id, incident.narrative)] + [
                ("action", action.id, action.text) for action in incident.actions
            ]:
                result, _report = process_text(
                    text,
                    people,
                    subject_id=pupil_person_id(pupil.id),
                    book=book,
                    document=f"{kind}:{object_id}",
                )
                texts.append((kind, object_id, result.text))
        return texts, book.to_dict()


def filed(instance: Instance, transfer_id: int) -> dict[str, Any]:
    """Return what the review filed: texts and reviews in filing order, pseudonyms."""
    with instance.sessions() as session:
        texts = session.scalars(
            select(RedactedText)
            .where(RedactedText.transfer_id == transfer_id)
            .order_by(RedactedText.id)
        )
        reviews = session.scalars(
            select(RedactionReview)
            .where(RedactionReview.transfer_id == transfer_id)
            .order_by(RedactionReview.id)
        )
        return {
            "texts": [(t.kind, t.object_id, t.text) for t in texts],
            "reviews": [
                (r.kind, r.object_id, r.flagged, r.redacted_sha256, r.report) for r in reviews
            ],
            "pseudonyms": session.get(Transfer, transfer_id).pseudonyms,
        }
