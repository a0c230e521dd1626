"""Start transfers from a DfE Common Transfer File: its pupils, to its destination school."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from exchange.errors import NotFound, ValidationError
from exchange.partners import destinations
from exchange.partners.models import Partner
from exchange.records.ctf import MAX_CTF_BYTES, parse_ctf
from exchange.records.models import Pupil, School
from exchange.records.sealed_reads import upn_is
from exchange.transfers import workflow
from exchange.transfers.actors import Actor
from exchange.transfers.models import Transfer


def transfers_from_ctf(
    session: Session,
    school: School,
    actor: Actor,
    path: Path,
    *,
    leaving_date: date | None = None,
    destination: Partner | None = None,
) -> list[Transfer]:
    """Create a draft transfer for each pupil of the CTF, to its destination or the one given.

    A CTF that names no destination (DfE's MMM/MMMM "missing", or XXX/XXXX "outside England and
    Wales") goes to `destination` if given, else to "destination unknown", which starts the
    children-missing-education route until the DSL sets where the child went.
    """
    if path.stat().st_size > MAX_CTF_BYTES:
        raise ValidationError(f"the CTF is larger than {MAX_CTF_BYTES} bytes")
    ctf = parse_ctf(path.read_bytes(), date.today())
    if ctf.source.laestab != school.laestab:
        raise ValidationError("the CTF was not made by this school", where="Header/SourceSchool")
    partner = destination or named_destination(session, school, ctf.destination.laestab)
    created = []
    if partner.school_id != school.id:
        raise ValidationError("the destination must be in this school's directory")
    for entry in ctf.pupils:
        pupil = session.scalar(
            select(Pupil).where(
                Pupil.school_id == school.id,
                upn_is(session, school.id, entry.upn),
            )
        )
        if pupil is None:
            raise NotFound(f"{entry.where}: no pupil with this UPN at this school")
        if pupil.date_of_birth not in (None, entry.date_of_birth):
            raise ValidationError(
                "the date of birth differs from the school's record", where=entry.where
            )
        created.append(
            workflow.start(
                session,
                None,
                school,
                "create",
                actor,
                pupil=pupil,
                partner=partner,
                leaving_date=leaving_date,
            )
        )
    return created


def named_destination(session: Session, school: School, laestab: str | None) -> Partner:
    """Return the directory entry of the CTF's destination, or "destination unknown"."""
    if laestab is None:
        return destinations.keep(session, school.id, destinations.validate(destinations.UNKNOWN))
    partner = session.scalar(
        select(Partner).where(Partner.school_id == school.id, Partner.laestab == laestab)
    )
    if partner is None:
        raise NotFound(
            f"the destination {laestab} is not in the directory: enrol the partner school, or "
            "add it as a destination and name it with --to"
        )
    return partner
