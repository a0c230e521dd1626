"""Who is in a batch: the pupils of a CTF, or leavers chosen from a list, each with a destination.

A child who cannot be matched (a UPN not on this school's roll, a date of birth that differs,
no destination) is reported with the problem and left out; the others go ahead.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from exchange.errors import ValidationError
from exchange.partners.models import Partner
from exchange.records.ctf import MAX_CTF_BYTES, parse_ctf
from exchange.records.models import Pupil, School
from exchange.records.sealed_reads import upn_is
from exchange.transfers.from_ctf import named_destination

Children = list[tuple[Pupil, Partner]]
Problems = list[tuple[str, str]]


def children_from_ctf(
    session: Session, school: School, data: bytes, destination: Partner | None = None
) -> tuple[Children, Problems]:
    """Return the CTF's pupils on this school's roll with their destination, and the problems."""
    if len(data) > MAX_CTF_BYTES:
        raise ValidationError(f"the CTF is larger than {MAX_CTF_BYTES} bytes")
    ctf = parse_ctf(data, date.today())
    if ctf.source.laestab != school.laestab:
        raise ValidationError("the CTF was not made by this school", where="Header/SourceSchool")
    partner = destination or named_destination(session, school, ctf.destination.laestab)
    if partner.school_id != school.id:
        raise ValidationError("the destination must be in this school's directory")
    children: Children = []
    problems: Problems = []
    for entry in ctf.pupils:
        pupil = session.scalar(
            select(Pupil).where(Pupil.school_id == school.id, upn_is(session, school.id, entry.upn))
        )
        if pupil is None:
            problems.append((entry.upn, f"{entry.where}: no pupil with this UPN at this school"))
        elif pupil.date_of_birth not in (None, entry.date_of_birth):
            problems.append((entry.upn, f"{entry.where}: the date of birth differs from ours"))
        else:
            children.append((pupil, partner))
    return children, problems


def children_from_list(
    session: Session, school: School, pupil_ids: Iterable[int], destination: Partner | None
) -> tuple[Children, Problems]:
    """Return the chosen leavers, each to `destination` or to the school their record names."""
    children: Children = []
    problems: Problems = []
    for pupil_id in pupil_ids:
        pupil = session.get(Pupil, pupil_id)
        if pupil is None or pupil.school_id != school.id:
            raise ValidationError("choose leavers of this school")
        partner = destination or _recorded_destination(session, school, pupil)
        if partner is None:
            problems.append((pupil.upn, "no destination is recorded: choose the school"))
        else:
            children.append((pupil, partner))
    return children, problems


def _recorded_destination(session: Session, school: School, pupil: Pupil) -> Partner | None:
    if pupil.destination_urn:
        where = Partner.urn == pupil.destination_urn
    elif pupil.destination_laestab:
        where = Partner.laestab == pupil.destination_laestab
    else:
        return None
    return session.scalar(select(Partner).where(Partner.school_id == school.id, where))
