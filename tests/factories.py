"""Small factories for test data with generated names."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime

from faker import Faker
from sqlalchemy.orm import Session

from exchange.records.models import Incident, Pupil, School
from exchange.records.schools import add_school
from exchange.records.upn import make_upn

fake = Faker("en_GB")
Faker.seed(20261123)
_serial = itertools.count(1)


def school(session: Session, number: int = 1) -> School:
    """Create a school with generated identifiers."""
    return add_school(session, f"{100000 + number}", f"{9000000 + number}", f"Test School {number}")


def pupil(session: Session, at: School, **fields: object) -> Pupil:
    """Create a pupil with a generated name and a valid UPN."""
    values: dict[str, object] = {
        "upn": make_upn(at.laestab, 24, next(_serial) % 1000),
        "forename": fake.first_name(),
        "surname": fake.last_name(),
        "date_of_birth": date(2016, 5, 17),
    }
    values.update(fields)
    record = Pupil(school_id=at.id, **values)
    session.add(record)
    session.flush()
    return record


def incident(session: Session, about: Pupil, narrative: str = "A concern was raised.") -> Incident:
    """Create an open incident about a pupil."""
    record = Incident(
        school_id=about.school_id,
        pupil_id=about.id,
        occurred_at=datetime(2025, 3, 3, 9, 15, tzinfo=UTC),
        recorded_at=datetime(2025, 3, 3, 11, 0, tzinfo=UTC),
        narrative=narrative,
        status="open",
    )
    session.add(record)
    session.flush()
    return record
