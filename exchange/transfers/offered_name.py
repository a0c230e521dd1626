"""The child's name in an offer (protocol 1.3): built, checked strictly, and shown to DSLs only.

The offer's optional `pupil.name` is `{"given": ..., "family": ...}`: each 1 to 100
characters, no control, format (other than the zero-width joiners some scripts need),
surrogate, private-use or unassigned characters, and no line or paragraph separators.
A receiver refuses an offer whose name breaks any of these rules and stores nothing.
"""

from __future__ import annotations

import unicodedata
from typing import Any

MAX_PART = 100
PARTS = ("given", "family")
# Zero-width non-joiner and joiner: parts of names in Persian, Indic and other scripts.
JOINERS = frozenset("\u200c\u200d")


class BadName(ValueError):
    """An offer's name that breaks the protocol's rules."""


def _check_part(part: str, value: object) -> str:
    if not isinstance(value, str):
        raise BadName(f"the pupil's {part} name must be text")
    if not value.strip():
        raise BadName(f"the pupil's {part} name is empty")
    if len(value) > MAX_PART:
        raise BadName(f"the pupil's {part} name is longer than {MAX_PART} characters")
    for char in value:
        kind = unicodedata.category(char)
        if (kind.startswith("C") and char not in JOINERS) or kind in ("Zl", "Zp"):
            raise BadName(f"the pupil's {part} name holds a control character (U+{ord(char):04X})")
    return value


def parse_name(value: object) -> dict[str, str] | None:
    """Return an offer's pupil name checked (None when absent); raise BadName if malformed."""
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) != set(PARTS):
        raise BadName("the pupil's name must be an object with exactly given and family")
    return {part: _check_part(part, value[part]) for part in PARTS}


def name_for_offer(pupil: Any) -> dict[str, str] | None:
    """Return the sending school's name of a child as an offer carries it, if it is valid."""
    if pupil is None:
        return None
    name = {"given": (pupil.forename or "").strip(), "family": (pupil.surname or "").strip()}
    try:
        return parse_name(name)
    except BadName:
        return None  # A name the protocol cannot carry is left out; the UPN still identifies.


def offer_names_child(token: str) -> bool:
    """Return whether a signed offer carries the child's name (then it is kept sealed)."""
    from exchange.jws import InvalidSignature, unverified_payload

    try:
        pupil = unverified_payload(token).get("pupil")
    except InvalidSignature:
        return False
    return isinstance(pupil, dict) and pupil.get("name") is not None


def words(name: dict[str, str] | None) -> str:
    """Return "Given Family", or an empty string when no name was offered."""
    if not name:
        return ""
    return f"{name['given']} {name['family']}"


def child_name(transfer: Any) -> str:
    """Return the child's name for a DSL: from this school's record, else from the offer."""
    pupil = transfer.pupil
    if pupil is not None and (pupil.forename or pupil.surname):
        return " ".join(part for part in (pupil.forename, pupil.surname) if part)
    return words(transfer.offered_name)
