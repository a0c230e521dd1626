"""Read a DfE Common Transfer File: match or create pupils by UPN and set their destination."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring
from sqlalchemy import select

from exchange.audit.service import record_event
from exchange.db import transaction, utcnow
from exchange.errors import NotFound, ValidationError
from exchange.instance import Instance
from exchange.logs import get_logger
from exchange.records.import_errors import ImportRejected, Problem, Problems
from exchange.records.models import Pupil, School
from exchange.records.scoping import scope_session
from exchange.records.upn import validate_upn
from exchange.vault.sealing import upn_index

MAX_CTF_BYTES = 64 * 1024 * 1024
_LA = re.compile(r"^\d{3}$")
_ESTAB = re.compile(r"^\d{4}$")
_URN = re.compile(r"^\d{6}$")

log = get_logger("records.ctf")


@dataclass(frozen=True)
class CtfSchool:
    """A school as a CTF header names it; laestab is None for the 'unknown' codes."""

    laestab: str | None
    urn: str | None
    name: str | None


@dataclass(frozen=True)
class CtfPupil:
    """The identifying part of one pupil in a CTF."""

    where: str
    upn: str
    forename: str
    surname: str
    date_of_birth: date


@dataclass
class CtfFile:
    """What the service uses from a CTF: source, destination and pupils."""

    source: CtfSchool
    destination: CtfSchool
    pupils: list[CtfPupil] = field(default_factory=list)


@dataclass
class CtfSummary:
    """How many pupils were created or matched, and whether a destination was set."""

    created: int = 0
    matched: int = 0
    destination: str | None = None

    def line(self) -> str:
        """Return the one-line summary printed at the end."""
        where = f"destination {self.destination}" if self.destination else "destination unknown"
        return f"CTF read: pupils: {self.created} created, {self.matched} matched; {where}"


def _local(tag: Any) -> str:
    return str(tag).rsplit("}", 1)[-1]


def _child(element: Element | None, name: str) -> Element | None:
    if element is None:
        return None
    return next((child for child in element if _local(child.tag) == name), None)


def _text(element: Element | None, name: str) -> str | None:
    child = _child(element, name)
    if child is None or child.text is None:
        return None
    return child.text.strip() or None


def parse_ctf(data: bytes, today: date) -> CtfFile:
    """Return the CTF's schools and pupils, or raise ImportRejected with every problem."""
    problems = Problems()
    try:
        root = fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise ImportRejected(
            [Problem("CTF", f"declares a DTD or entities ({type(exc).__name__}); refused")]
        ) from exc
    except ParseError as exc:
        line, column = exc.position
        raise ImportRejected(
            [Problem("CTF", f"is not well-formed XML (line {line}, column {column})")]
        ) from exc
    except (LookupError, ValueError) as exc:
        raise ImportRejected([Problem("CTF", "declares an encoding that cannot be read")]) from exc
    header = _child(root, "Header")
    if _local(root.tag) != "CTfile" or header is None:
        raise ImportRejected([Problem("CTF", "is not a Common Transfer File (no CTfile/Header)")])
    source = _school(_child(header, "SourceSchool"), "Header/SourceSchool", problems, True)
    destination = _school(_child(header, "DestSchool"), "Header/DestSchool", problems, False)
    ctf = CtfFile(source, destination)
    pupil_data = _child(root, "CTFpupilData")
    children = list(pupil_data) if pupil_data is not None else []
    elements = [e for e in children if _local(e.tag) == "Pupil"]
    if not elements:
        problems.add("CTFpupilData", "holds no Pupil")
    for index, element in enumerate(elements):
        pupil = _pupil(element, f"CTFpupilData/Pupil[{index + 1}]", today, problems)
        if pupil is not None:
            ctf.pupils.append(pupil)
    seen: dict[str, str] = {}
    for pupil in ctf.pupils:
        if pupil.upn in seen:
            problems.add(f"{pupil.where}/UPN", f"is also the UPN of {seen[pupil.upn]}")
        seen.setdefault(pupil.upn, pupil.where)
    problems.raise_if_any()
    return ctf


def _school(element: Element | None, where: str, problems: Problems, required: bool) -> CtfSchool:
    if element is None:
        problems.add(where, "is missing")
        return CtfSchool(None, None, None)
    la, estab = _text(element, "LEA") or "", _text(element, "Estab") or ""
    urn = _text(element, "URN")
    known = bool(_LA.match(la) and _ESTAB.match(estab))
    if required and not known:
        problems.add(where, "must give the LEA (3 digits) and Estab (4 digits)")
    if urn is not None and not _URN.match(urn):
        problems.add(f"{where}/URN", "must be 6 digits")
        urn = None
    return CtfSchool(la + estab if known else None, urn, _text(element, "SchoolName"))


def _pupil(element: Element, where: str, today: date, problems: Problems) -> CtfPupil | None:
    values = {name: _text(element, name) for name in ("UPN", "Surname", "Forename", "DOB")}
    for name, value in values.items():
        if value is None:
            problems.add(f"{where}/{name}", "is missing")
    if None in values.values():
        return None
    try:
        upn = validate_upn(values["UPN"] or "")
    except ValidationError as exc:
        problems.add(f"{where}/UPN", exc.message)
        return None
    try:
        born = date.fromisoformat(values["DOB"] or "")
    except ValueError:
        problems.add(f"{where}/DOB", "must be a date written YYYY-MM-DD")
        return None
    if born > today:
        problems.add(f"{where}/DOB", "is in the future")
        return None
    return CtfPupil(where, upn, values["Forename"] or "", values["Surname"] or "", born)


def import_ctf(
    instance: Instance,
    school_id: int,
    path: Path,
    *,
    leaving_date: date | None = None,
    now: datetime | None = None,
) -> CtfSummary:
    """Match or create the CTF's pupils in the school and record their destination."""
    now = now or utcnow()
    path = Path(path)
    if path.stat().st_size > MAX_CTF_BYTES:
        raise ImportRejected([Problem("CTF", f"is larger than {MAX_CTF_BYTES} bytes")])
    with path.open("rb") as handle:
        ctf = parse_ctf(handle.read(MAX_CTF_BYTES + 1), now.date())
    summary = CtfSummary(destination=ctf.destination.laestab)
    with transaction(instance.sessions) as session:
        scope_session(session, school_id)
        school = session.get(School, school_id)
        if school is None:
            raise NotFound("no such school on this instance")
        problems = Problems()
        _check_schools(ctf, school, problems)
        indexes = [upn_index(session, school_id, pupil.upn) for pupil in ctf.pupils]
        stored = {
            row.upn: row
            for row in session.scalars(
                select(Pupil).where(Pupil.school_id == school_id, Pupil.upn_index.in_(indexes))
            )
        }
        for pupil in ctf.pupils:
            row = stored.get(pupil.upn)
            if row is not None and row.date_of_birth not in (None, pupil.date_of_birth):
                problems.add(
                    f"{pupil.where}/DOB", "differs from the pupil with this UPN in the school"
                )
            if leaving_date is not None and leaving_date < pupil.date_of_birth:
                problems.add(f"{pupil.where}/DOB", "is after the leaving date given")
        problems.raise_if_any()
        for pupil in ctf.pupils:
            row = stored.get(pupil.upn)
            if row is None:
                row = Pupil(
                    school_id=school_id,
                    upn=pupil.upn,
                    forename=pupil.forename,
                    surname=pupil.surname,
                    date_of_birth=pupil.date_of_birth,
                )
                session.add(row)
                summary.created += 1
            else:
                row.date_of_birth = pupil.date_of_birth
                summary.matched += 1
            _set_destination(row, ctf.destination, leaving_date)
        record_event(
            session,
            school_id,
            None,
            "operator",
            "ctf.imported",
            "ctf",
            ctf.destination.laestab,
            details={"created": summary.created, "matched": summary.matched},
        )
    log.info(
        "CTF read",
        extra={
            "school_id": school_id,
            "pupils_created": summary.created,
            "pupils_matched": summary.matched,
        },
    )
    return summary


def _check_schools(ctf: CtfFile, school: School, problems: Problems) -> None:
    if ctf.source.laestab != school.laestab:
        problems.add(
            "Header/SourceSchool",
            f"is not the school being imported into (LAESTAB {school.laestab})",
        )
    if ctf.destination.laestab == school.laestab:
        problems.add("Header/DestSchool", "is the school the pupils are leaving")


def _set_destination(pupil: Pupil, destination: CtfSchool, leaving_date: date | None) -> None:
    if destination.laestab is not None:
        pupil.destination_laestab = destination.laestab
        if destination.urn:
            pupil.destination_urn = destination.urn
        if destination.name:
            pupil.destination_name = destination.name
    if leaving_date is not None:
        pupil.leaving_date = leaving_date
