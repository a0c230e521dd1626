"""Read the words around a hit: adults named by a title or role, initials and name compounds.

A surname shared with a child is an adult's when a title or a role says so: "Mr Daniel Smith
(class teacher)", "her mother Anne Smith", "Miss Jeffries". Initials next to a removed name
("O. Smith") and the other half of a hyphenated first name ("Chloë-Anne") belong to the hit.
"""

from __future__ import annotations

import re

TITLES = ("Mr", "Mrs", "Miss", "Ms", "Mx", "Dr", "Prof", "Sir", "Dame", "Rev", "Revd")
ROLES = (
    "mum", "mummy", "mom", "mother", "dad", "daddy", "father", "stepmum", "step-mum",
    "stepmother", "step-mother", "stepdad", "step-dad", "stepfather", "step-father",
    "carer", "foster carer", "guardian", "grandmother", "grandfather", "gran", "grandma",
    "grandad", "grandpa", "nan", "nana", "aunt", "auntie", "uncle", "teacher",
    "class teacher", "form tutor", "tutor", "headteacher", "head teacher", "teaching assistant",
    "senco", "social worker", "key worker", "support worker", "dsl", "nurse", "coach",
)  # fmt: skip
_ROLE = "|".join(re.escape(r).replace(r"\ ", r"\s+") for r in sorted(ROLES, key=len, reverse=True))
_TITLE = "|".join(TITLES)
# A capitalised forename or initial between a title or role and the surname.
_GIVEN = r"(?:(?:[A-Z]\.|[A-Z\u00c0-\u00de][^\W\d_]*)(?:\s+|-)){0,3}"
_TITLE_BEFORE = re.compile(rf"(?<![\w])(?:{_TITLE})\.?\s+{_GIVEN}$")
_ROLE_BEFORE = re.compile(rf"(?<![\w])(?i:{_ROLE})\s*[:(\-\u2013]?\s*{_GIVEN}$")
_ROLE_AFTER = re.compile(
    rf"^\s*[,(\-\u2013:]\s*(?i:(?:the|a|an|their|her|his|year\s*\d+|deputy|acting)\s+){{0,3}}"
    rf"(?i:{_ROLE})\b"
)
_INITIAL_BEFORE = re.compile(r"(?<![\w.])(?:([A-Z])(?:\.\s*|\s)|([a-z])[._])$")
_INITIAL_AFTER = re.compile(r"^\s([A-Z])\.(?![\w])")
_COMPOUND_AFTER = re.compile(r"^[-\u2010\u2011][A-Z\u00c0-\u00de][\w\u00c0-\u024f]*")
_COMPOUND_BEFORE = re.compile(r"[A-Z\u00c0-\u00de][\w\u00c0-\u024f]*[-\u2010\u2011]$")
_WINDOW = 60


# Every title and role holds one of these (roles in lower case, each role's first word), so
# words before a hit that hold none cannot name an adult: the two searches are skipped. Only
# for ASCII text, where matching without case is exactly matching the lower case.
def _shortest(words: set[str]) -> tuple[str, ...]:
    """Return the words that hold no other of them (a text holding any word holds one)."""
    return tuple(sorted(w for w in words if not any(o != w and o in w for o in words)))


_TITLE_WORDS = re.compile("|".join(map(re.escape, _shortest(set(TITLES)))))
_ROLE_WORDS = re.compile("|".join(map(re.escape, _shortest({r.split(" ")[0] for r in ROLES}))))


def adult_by_context(text: str, start: int, end: int, free_from: int = 0) -> str | None:
    """Return "title" or "role" when the words around a hit name an adult, else None.

    Words before the hit count only from free_from on: a name removed just before it
    ("Mr Talia Brenwick Brenwick") is not a forename that makes the hit an adult's.
    """
    offset = max(0, start - _WINDOW, free_from)
    before = text[offset:start]
    ascii_only = before.isascii()
    if (not ascii_only or _TITLE_WORDS.search(before)) and _TITLE_BEFORE.search(before):
        return "title"
    if (not ascii_only or _ROLE_WORDS.search(before.lower())) and _ROLE_BEFORE.search(before):
        return "role"
    if _ROLE_AFTER.match(text[end : end + _WINDOW]):
        return "role"
    return None


def widen(text: str, start: int, end: int, initials: tuple[str, str]) -> tuple[int, int]:
    """Widen a hit over a forename initial before it, a surname initial after it, and the
    other part of a hyphenated name."""
    forename_initial, surname_initial = initials
    before = text[max(0, start - 4) : start]
    found = _INITIAL_BEFORE.search(before)
    letter = (found.group(1) or found.group(2)) if found else ""
    if found and forename_initial and letter.casefold() == forename_initial:
        start -= len(found.group())  # "O. Smith", "O Smith", "o.smith@...", "o_smith".
    found = _INITIAL_AFTER.match(text[end : end + 4])
    if found and surname_initial and found.group(1).casefold() == surname_initial:
        end += len(found.group())
    found = _COMPOUND_AFTER.match(text[end : end + 40])
    if found:
        end += len(found.group())
    found = _COMPOUND_BEFORE.search(text[max(0, start - 40) : start])
    if found:
        start -= len(found.group())
    return start, end
