"""Who must not be named in a child's file: every other pupil, and staff matched with care."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from exchange.records.models import Pupil, StaffMember
from exchange.redaction.names import Person


def pupil_person_id(pupil_id: int) -> str:
    """Return the redaction person id of a pupil."""
    return f"pupil:{pupil_id}"


def people_to_consider(session: Session, subject: Pupil) -> list[Person]:
    """Return every pupil on the roll (past and present, the subject too) and every staff member."""
    people = [
        Person(
            person_id=pupil_person_id(pupil.id),
            forename=pupil.forename,
            surname=pupil.surname,
            preferred_name=pupil.preferred_name,
            nicknames=tuple(pupil.other_names or ()),
            kind="pupil",
        )
        for pupil in session.scalars(select(Pupil).where(Pupil.school_id == subject.school_id))
    ]
    for staff in session.scalars(
        select(StaffMember).where(StaffMember.school_id == subject.school_id)
    ):
        parts = staff.name.split()
        if parts:
            people.append(
                Person(
                    person_id=f"staff:{staff.id}",
                    forename=parts[0] if len(parts) > 1 else "",
                    surname=parts[-1],
                    kind="staff",
                )
            )
    return people
