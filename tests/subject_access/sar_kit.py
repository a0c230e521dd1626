"""A school with a child whose file names other children, a parent's partner and staff."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session
from transfer_kit import OTHER_CHILD, SUBJECT, child_with_records, school_with_keys

from exchange.db import transaction
from exchange.instance import Instance
from exchange.records.models import Incident, IncidentAction, Pupil, School, StaffMember, User
from exchange.records.schools import add_user
from exchange.records.upn import make_upn
from exchange.transfers.actors import Actor

PARENT = "Joanna Thornbury"
PARTNER = "Gareth Pryce"
STAFF = "Teacher Abbott"


@dataclass
class Setting:
    """The ids a test needs."""

    school_id: int
    pupil_id: int
    other_pupil_id: int
    dsl_id: int
    deputy_id: int
    dpo_id: int
    staff_id: int


def make_setting(instance: Instance) -> Setting:
    """Create the school, the child's file and a DSL, a deputy DSL and a DPO."""
    with transaction(instance.sessions) as session:
        school = school_with_keys(session, instance, 1, "bretherton")
        subject, other = child_with_records(session, instance, school)
        subject.date_of_birth = date(2013, 1, 15)  # 13 when the request arrives.
        add_user(session, school, "deputy_dsl", "Deputy 1", "ddsl1@example.org")
        session.add(
            Pupil(
                school_id=school.id,
                upn=make_upn(school.laestab, 24, 3),
                forename="Rose",
                surname="Lindqvist",
                date_of_birth=date(2013, 3, 1),
            )
        )
        staff = session.scalar(select(StaffMember).where(StaffMember.school_id == school.id))
        incident = Incident(
            school_id=school.id,
            pupil_id=subject.id,
            occurred_at=datetime(2026, 6, 3, 8, 40, tzinfo=UTC),
            recorded_at=datetime(2026, 6, 3, 9, 0, tzinfo=UTC),
            narrative=(
                f"{SUBJECT[0]} said that her mother's partner {PARTNER} shouted at her last night. "
                f"Her mother {PARENT} was called by {STAFF}. She sat with Rose at lunch."
            ),
            status="closed",
            author=staff,
        )
        session.add(incident)
        session.flush()
        session.add(
            IncidentAction(
                school_id=school.id,
                incident_id=incident.id,
                text=f"{STAFF} rang {PARENT}; referral discussed with the DSL.",
                author=staff,
                acted_at=datetime(2026, 6, 3, 12, 0, tzinfo=UTC),
            )
        )
        session.flush()
        users = {
            u.role: u.id for u in session.scalars(select(User).where(User.school_id == school.id))
        }
        return Setting(
            school.id,
            subject.id,
            other.id,
            users["dsl"],
            users["deputy_dsl"],
            users["dpo"],
            staff.id,
        )


def actor(session: Session, user_id: int) -> Actor:
    """Return the actor of a user id."""
    return Actor.of(session.get(User, user_id))


def school(session: Session, setting: Setting) -> School:
    """Return the school row."""
    return session.get(School, setting.school_id)


FORBIDDEN_NAMES = (*OTHER_CHILD, *PARTNER.split(), "Lindqvist", "with Rose")
KEPT_NAMES = (SUBJECT[0], PARENT, STAFF)
