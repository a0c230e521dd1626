"""Load what an earlier import of the same source already stored, to match records by id."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from exchange.records.models import (
    Category,
    Incident,
    Pupil,
    StaffMember,
    VaultDocument,
)


@dataclass
class Existing:
    """The school's stored rows, keyed the way the export refers to them."""

    staff: dict[str, StaffMember]
    pupils: dict[str, Pupil]
    pupils_by_upn: dict[str, Pupil]
    incidents: dict[str, Incident]
    documents: dict[str, VaultDocument]
    categories: dict[str, Category]


def load_existing(session: Session, school_id: int, source_system: str) -> Existing:
    """Return the school's rows from this source system, its pupils by UPN and its categories."""
    staff = session.scalars(
        select(StaffMember).where(
            StaffMember.school_id == school_id, StaffMember.source_system == source_system
        )
    )
    pupils = session.scalars(select(Pupil).where(Pupil.school_id == school_id)).all()
    incidents = session.scalars(
        select(Incident)
        .where(Incident.school_id == school_id, Incident.source_system == source_system)
        .options(
            selectinload(Incident.actions),
            selectinload(Incident.edits),
            selectinload(Incident.categories),
            selectinload(Incident.linked_pupils),
        )
    )
    documents = session.scalars(
        select(VaultDocument).where(
            VaultDocument.school_id == school_id, VaultDocument.source_system == source_system
        )
    )
    categories = session.scalars(select(Category).where(Category.school_id == school_id))
    return Existing(
        staff={row.source_id: row for row in staff},
        pupils={
            row.source_id: row
            for row in pupils
            if row.source_system == source_system and row.source_id is not None
        },
        pupils_by_upn={row.upn: row for row in pupils},
        incidents={row.source_id: row for row in incidents if row.source_id is not None},
        documents={row.source_id: row for row in documents if row.source_id is not None},
        categories={row.path: row for row in categories},
    )


def match_pupil(existing: Existing, source_id: str, upn: str) -> Pupil | None:
    """Return the stored pupil a file pupil is: same source id, else same UPN with none."""
    pupil = existing.pupils.get(source_id)
    if pupil is not None:
        return pupil
    by_upn = existing.pupils_by_upn.get(upn)
    if by_upn is not None and by_upn.source_id is None:
        return by_upn
    return None
