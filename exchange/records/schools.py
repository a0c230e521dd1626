"""Create and find schools, validating their DfE identifiers."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from exchange.errors import ValidationError
from exchange.records.models import ROLES, School, User

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def validate_urn(value: str) -> str:
    """Return the URN if it is 6 digits, else raise."""
    urn = value.strip()
    if not re.fullmatch(r"\d{6}", urn):
        raise ValidationError(f"URN must be 6 digits, got {urn!r}")
    return urn


def validate_laestab(value: str) -> str:
    """Return the LAESTAB if it is 7 digits (LA 3 + establishment 4), else raise."""
    laestab = value.strip().replace("/", "")
    if not re.fullmatch(r"\d{7}", laestab):
        raise ValidationError(f"LAESTAB must be 7 digits, got {value.strip()!r}")
    return laestab


def add_school(session: Session, urn: str, laestab: str, name: str) -> School:
    """Create a school, or return the existing one with the same URN and LAESTAB."""
    urn, laestab = validate_urn(urn), validate_laestab(laestab)
    if not name.strip():
        raise ValidationError("a school needs a name")
    existing = session.scalar(select(School).where(School.urn == urn))
    if existing is not None:
        if existing.laestab != laestab:
            raise ValidationError(f"school {urn} already exists with another LAESTAB")
        return existing
    if session.scalar(select(School).where(School.laestab == laestab)) is not None:
        raise ValidationError(f"LAESTAB {laestab} already belongs to another school")
    school = School(urn=urn, laestab=laestab, name=name.strip())
    session.add(school)
    session.flush()
    return school


def validate_email(value: str) -> str:
    """Return the email address in lower case if it looks like one, else raise in words."""
    email = value.strip().lower()
    if not _EMAIL.match(email):
        raise ValidationError(
            "Enter an email address in the correct format, like name@school.org", where="email"
        )
    return email


def add_user(session: Session, school: School, role: str, name: str, email: str) -> User:
    """Create a user of a school in one role, or return the existing one with that email."""
    if role not in ROLES:
        raise ValidationError(f"role must be one of {', '.join(ROLES)}")
    email = email.strip().lower()
    if not _EMAIL.match(email):
        raise ValidationError("email address is not valid")
    existing = session.scalar(select(User).where(User.school_id == school.id, User.email == email))
    if existing is not None:
        return existing
    user = User(school_id=school.id, role=role, name=name.strip(), email=email)
    session.add(user)
    session.flush()
    return user
