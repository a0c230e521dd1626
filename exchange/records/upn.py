"""Unique Pupil Number validation with the DfE check letter, for permanent and temporary UPNs."""

from __future__ import annotations

import re

from exchange.errors import ValidationError

CHECK_ALPHABET = "ABCDEFGHJKLMNPQRTUVWXYZ"
_PERMANENT = re.compile(r"^[A-Z]\d{12}$")
_TEMPORARY = re.compile(r"^[A-Z]\d{11}[A-Z]$")


def _char_value(char: str) -> int:
    """Return a character's value in the check sum: digits as themselves, letters by alphabet."""
    if char.isdigit():
        return int(char)
    return CHECK_ALPHABET.index(char)


def check_letter(body: str) -> str:
    """Return the check letter for the 12 characters after it (weights 2..13, mod 23)."""
    total = sum(_char_value(char) * weight for weight, char in enumerate(body, start=2))
    return CHECK_ALPHABET[total % 23]


def is_temporary(upn: str) -> bool:
    """Return whether the UPN is a temporary one (ends in a letter)."""
    return bool(_TEMPORARY.match(upn))


def validate_upn(value: str) -> str:
    """Return the normalised UPN, or raise ValidationError saying what is wrong."""
    upn = value.strip().upper()
    if len(upn) != 13:
        raise ValidationError(f"UPN must be 13 characters, got {len(upn)}")
    if not (_PERMANENT.match(upn) or _TEMPORARY.match(upn)):
        raise ValidationError(
            "UPN must be a check letter, 11 digits, then a digit (or a letter if temporary)"
        )
    last = upn[12]
    if last.isalpha() and last not in CHECK_ALPHABET:
        raise ValidationError(f"temporary UPN ends in {last!r}, which is not a valid letter")
    expected = check_letter(upn[1:])
    if upn[0] != expected:
        raise ValidationError(f"UPN check letter is {upn[0]!r} but should be {expected!r}")
    return upn


def make_upn(laestab: str, year: int, serial: int) -> str:
    """Return a valid permanent UPN for an LA and establishment, year (2 digits) and serial."""
    body = f"{laestab}{year % 100:02d}{serial:03d}"
    if len(body) != 12 or not body.isdigit():
        raise ValidationError("a UPN body is LAESTAB (7 digits), year (2) and serial (3)")
    return check_letter(body) + body
