"""Where a child's file can go when the receiver is not a school on this service.

Each kind of destination is named by its own identifier, validated by its own rules:

- an English school: its URN (6 digits) and, if known, its LAESTAB (7 digits: LA code + DfE number);
- a Welsh school: its 7-digit LA + establishment number (LA codes 660 to 681);
- a Scottish school: its SEED code (7 digits);
- a Northern Irish school: its Department of Education reference (NNN-NNNN);
- an independent school: a URN if it has one, else its name and address;
- a school abroad: its country and address;
- a local authority: its 3-digit LA code and named officer, for a child missing education or
  electively home educated;
- destination unknown: no receiver yet; the children-missing-education route starts.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from exchange.errors import ValidationError
from exchange.partners.models import Partner

PARTNER_SCHOOL = "partner_school"
ENGLISH_SCHOOL = "english_school"
WELSH_SCHOOL = "welsh_school"
SCOTTISH_SCHOOL = "scottish_school"
NORTHERN_IRISH_SCHOOL = "northern_irish_school"
INDEPENDENT_SCHOOL = "independent_school"
SCHOOL_ABROAD = "school_abroad"
LOCAL_AUTHORITY = "local_authority"
UNKNOWN = "unknown"

KIND_WORDS = {
    ENGLISH_SCHOOL: "A school in England without this service",
    WELSH_SCHOOL: "A school in Wales",
    SCOTTISH_SCHOOL: "A school in Scotland",
    NORTHERN_IRISH_SCHOOL: "A school in Northern Ireland",
    INDEPENDENT_SCHOOL: "An independent school",
    SCHOOL_ABROAD: "A school abroad",
    LOCAL_AUTHORITY: "The local authority (child missing education or home educated)",
    UNKNOWN: "Destination unknown (children missing education)",
}
KINDS = tuple(KIND_WORDS)
PURPOSES = {
    "missing_education": "a child missing education",
    "elective_home_education": "elective home education",
}
ENGLISH_LA_CODES = range(201, 939)  # The DfE's numbering of English local authorities.
WELSH_LA_CODES = range(660, 682)  # Isle of Anglesey (660) to Cardiff (681).
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")


@dataclass(frozen=True)
class Destination:
    """A validated destination, ready to be kept in the school's directory."""

    kind: str
    name: str
    identifier: str | None = None
    urn: str | None = None
    laestab: str | None = None
    country: str | None = None
    address: str | None = None
    contact_name: str | None = None
    contact_email: str | None = None
    contact_phone: str | None = None
    purpose: str | None = None


def _digits(value: str | None) -> str:
    return re.sub(r"[\s-]", "", value or "")


def english_urn(value: str | None) -> str:
    """Return a valid English URN (6 digits) or raise ValidationError."""
    urn = _digits(value)
    if not re.fullmatch(r"[1-9]\d{5}", urn):
        raise ValidationError(
            "an English school's URN is 6 digits, for example 100000", where="urn"
        )
    return urn


def english_laestab(value: str | None) -> str:
    """Return a valid English LAESTAB (LA code 201-938 + 4 digits) or raise ValidationError."""
    number = _digits(value).replace("/", "")
    if not re.fullmatch(r"\d{7}", number) or int(number[:3]) not in ENGLISH_LA_CODES:
        raise ValidationError(
            "an English LAESTAB is 7 digits: the LA code (201 to 938) and the DfE number",
            where="laestab",
        )
    return number


def welsh_school_number(value: str | None) -> str:
    """Return a valid Welsh LA + establishment number or raise ValidationError."""
    number = _digits(value).replace("/", "")
    if not re.fullmatch(r"\d{7}", number):
        raise ValidationError(
            "a Welsh school is named by its 7-digit LA and establishment number, e.g. 6812001",
            where="identifier",
        )
    if int(number[:3]) not in WELSH_LA_CODES:
        raise ValidationError(
            f"{number[:3]} is not a Welsh local authority: the first three digits are 660 to 681",
            where="identifier",
        )
    return number


def scottish_seed_code(value: str | None) -> str:
    """Return a valid Scottish SEED code (7 digits) or raise ValidationError."""
    code = _digits(value)
    if not re.fullmatch(r"[1-9]\d{6}", code):
        raise ValidationError(
            "a Scottish school is named by its 7-digit SEED code, e.g. 5244439", where="identifier"
        )
    return code


def northern_irish_reference(value: str | None) -> str:
    """Return a DE reference as NNN-NNNN or raise ValidationError."""
    typed = (value or "").strip().replace(" ", "")
    number = typed.replace("-", "")
    if not re.fullmatch(r"\d{3}-?\d{4}", typed):
        raise ValidationError(
            "a Northern Irish school is named by its DE reference, 3 and 4 digits: 123-4567",
            where="identifier",
        )
    return f"{number[:3]}-{number[3:]}"


def la_code(value: str | None) -> str:
    """Return a local authority's 3-digit code (England or Wales) or raise ValidationError."""
    code = _digits(value)
    if not re.fullmatch(r"\d{3}", code) or (
        int(code) not in ENGLISH_LA_CODES and int(code) not in WELSH_LA_CODES
    ):
        raise ValidationError(
            "a local authority is named by its 3-digit LA code (201 to 938 in England, "
            "660 to 681 in Wales)",
            where="identifier",
        )
    return code


def _text(value: str | None, field: str, words: str, limit: int = 200) -> str:
    text = " ".join((value or "").split())
    if not text:
        raise ValidationError(f"enter {words}", where=field)
    if len(text) > limit:
        raise ValidationError(f"{words} is longer than {limit} characters", where=field)
    return text


def _optional(value: str | None, limit: int) -> str | None:
    text = " ".join((value or "").split())
    return text[:limit] or None


def _email(value: str | None, field: str = "contact_email") -> str:
    email = (value or "").strip()
    if not EMAIL.fullmatch(email) or len(email) > 254:
        raise ValidationError("enter the receiving person's email address", where=field)
    return email


class DestinationInvalid(ValidationError):
    """Every field of a destination that is wrong, each with its own words."""

    def __init__(self, fields: dict[str, str]) -> None:
        first_field, first = next(iter(fields.items()))
        super().__init__("; ".join(fields.values()), where=first_field)
        self.fields = fields
        self.first = first


class _Checks:
    """Run each field's check, keeping every error instead of stopping at the first."""

    def __init__(self) -> None:
        self.errors: dict[str, str] = {}

    def __call__(self, check: Callable[..., Any], *args: Any) -> Any:
        try:
            return check(*args)
        except ValidationError as refused:
            self.errors.setdefault(refused.where or "kind", refused.message)
            return None

    def done(self) -> None:
        if self.errors:
            raise DestinationInvalid(self.errors)


def validate(
    kind: str,
    *,
    name: str | None = None,
    identifier: str | None = None,
    laestab: str | None = None,
    country: str | None = None,
    address: str | None = None,
    contact_name: str | None = None,
    contact_email: str | None = None,
    contact_phone: str | None = None,
    purpose: str | None = None,
) -> Destination:
    """Check a destination by the rules of its kind; return it or raise DestinationInvalid."""
    if kind not in KINDS:
        raise DestinationInvalid({"kind": f"choose where the file goes: one of {', '.join(KINDS)}"})
    phone = _optional(contact_phone, 40)
    if kind == UNKNOWN:
        return Destination(UNKNOWN, "Destination unknown")
    check = _Checks()
    if kind == LOCAL_AUTHORITY:
        if purpose not in PURPOSES:
            check.errors["purpose"] = (
                "say why the file goes to the local authority: missing_education or "
                "elective_home_education"
            )
        found = Destination(
            LOCAL_AUTHORITY,
            check(_text, name, "name", "the local authority's name"),
            identifier=check(la_code, identifier),
            contact_name=check(_text, contact_name, "contact_name", "the named officer"),
            contact_email=check(_email, contact_email),
            contact_phone=phone,
            purpose=purpose,
        )
        check.done()
        return found
    common = {
        "name": check(_text, name, "name", "the school's name"),
        "contact_name": check(_text, contact_name, "contact_name", "the receiving DSL's name"),
        "contact_email": check(_email, contact_email),
        "contact_phone": phone,
    }
    if kind == ENGLISH_SCHOOL:
        urn = check(english_urn, identifier)
        number = check(english_laestab, laestab) if laestab else None
        found = Destination(kind, identifier=urn, urn=urn, laestab=number, **common)
    elif kind == WELSH_SCHOOL:
        found = Destination(kind, identifier=check(welsh_school_number, identifier), **common)
    elif kind == SCOTTISH_SCHOOL:
        found = Destination(kind, identifier=check(scottish_seed_code, identifier), **common)
    elif kind == NORTHERN_IRISH_SCHOOL:
        found = Destination(kind, identifier=check(northern_irish_reference, identifier), **common)
    elif kind == INDEPENDENT_SCHOOL:
        urn = check(english_urn, identifier) if _digits(identifier) else None
        found = Destination(
            kind,
            identifier=urn,
            urn=urn,
            address=check(_text, address, "address", "the school's address", 1000),
            **common,
        )
    else:
        found = Destination(
            SCHOOL_ABROAD,
            country=check(_text, country, "country", "the country", 100),
            address=check(_text, address, "address", "the school's address", 1000),
            **common,
        )
    check.done()
    return found


def keep(session: Session, school_id: int, destination: Destination) -> Partner:
    """Add the destination to the school's directory, or update the one it matches."""
    found = _existing(session, school_id, destination)
    if found is not None and found.service_url:
        raise ValidationError(
            f"{found.name} runs this service: send the file to it as a partner school", where="urn"
        )
    partner = found or Partner(school_id=school_id)
    for field, value in vars(destination).items():
        setattr(partner, field, value)
    partner.service_url = None
    session.add(partner)
    session.flush()
    return partner


def _existing(session: Session, school_id: int, destination: Destination) -> Partner | None:
    query = select(Partner).where(Partner.school_id == school_id)
    if destination.urn:
        return session.scalar(query.where(Partner.urn == destination.urn))
    if destination.kind == UNKNOWN:
        return session.scalar(query.where(Partner.kind == UNKNOWN))
    if destination.identifier:
        return session.scalar(
            query.where(
                Partner.kind == destination.kind, Partner.identifier == destination.identifier
            )
        )
    return None


def describe(partner: Partner) -> str:
    """Return the destination in words a DSL reads: its kind and identifier."""
    if partner.kind == PARTNER_SCHOOL:
        return f"{partner.name} (URN {partner.urn})"
    words = KIND_WORDS.get(partner.kind, partner.kind)
    if partner.kind == UNKNOWN:
        return words
    parts = [partner.name, words.lower() if partner.kind != LOCAL_AUTHORITY else "local authority"]
    if partner.identifier:
        parts.append(partner.identifier)
    if partner.country:
        parts.append(partner.country)
    return ", ".join(parts)


def find(session: Session, school_id: int, reference: str) -> Partner:
    """Return the directory entry a DSL names: a URN, "kind:identifier", or "unknown"."""
    from exchange.errors import NotFound

    reference = reference.strip()
    query = select(Partner).where(Partner.school_id == school_id)
    if reference == UNKNOWN:
        return keep(session, school_id, validate(UNKNOWN))
    if ":" in reference:
        kind, _, identifier = reference.partition(":")
        found = session.scalar(query.where(Partner.kind == kind, Partner.identifier == identifier))
    else:
        found = session.scalar(query.where(Partner.urn == reference))
    if found is None:
        raise NotFound(
            f"{reference} is not in this school's directory: add the destination first "
            "(exchange transfers destination-add) or enrol the partner school"
        )
    return found
