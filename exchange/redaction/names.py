"""Describe people and build the set of name forms to look for."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from exchange.errors import ValidationError
from exchange.redaction.fold import fold_word

PersonKind = Literal["pupil", "staff", "family", "extra"]
Decision = Literal["redacted", "needs_review", "kept"]

# Forenames that are also everyday English words: a hit is shown to the DSL, never decided.
ORDINARY_WORD_NAMES = frozenset(
    {
        "amber", "april", "autumn", "bill", "brook", "brooke", "candy", "carol", "chance",
        "charity", "cherry", "clay", "crystal", "dawn", "destiny", "dusty", "faith", "fern",
        "frank", "gene", "ginger", "grace", "guy", "hazel", "heather", "holly", "honey", "hope",
        "iris", "ivy", "jack", "jade", "jasmine", "jay", "jewel", "joy", "june", "lily",
        "mark", "matt", "max", "may", "miles", "misty", "neil", "olive", "pat", "patience",
        "pearl", "penny", "poppy", "ray", "reed", "river", "rob", "robin", "rose", "ruby",
        "rusty", "sage", "sky", "skye", "sonny", "sterling", "storm", "summer", "sunny",
        "tiger", "violet", "wade", "will", "willow", "winter", "wren",
    }
)  # fmt: skip

_SEPARATORS = re.compile(r"[\s\-]+")
_SEPARATOR_CLASS = r"[\s._'\-]*"


@dataclass(frozen=True)
class Person:
    """Describe one person whose name may appear in a record."""

    person_id: str
    forename: str
    surname: str = ""
    preferred_name: str | None = None
    nicknames: tuple[str, ...] = ()
    kind: PersonKind = "pupil"

    def __post_init__(self) -> None:
        if not self.person_id:
            raise ValidationError("a person needs a person_id")
        if not (self.forename or self.surname).strip():
            raise ValidationError("a person needs a forename or a surname", where=self.person_id)
        if self.kind not in ("pupil", "staff", "family", "extra"):
            raise ValidationError(f"unknown kind {self.kind!r}", where=self.person_id)

    def given_names(self) -> list[str]:
        """Return every name the person is called by before the surname."""
        names = [self.forename, self.preferred_name or "", *self.nicknames]
        return _unique(n.strip() for n in names if n and n.strip())


@dataclass(frozen=True)
class Owner:
    """Say that a person is known by a name form, and in what role."""

    person_id: str
    form: str  # "full", "forename", "surname", "part", "later_part", "diminutive", "initials"
    role: Literal["target", "protected", "staff"]


@dataclass
class TermGroup:
    """Gather everyone known by one folded name form and the decision for a hit on it."""

    key: str  # Folded form with separators removed, e.g. "samsmith".
    pattern: str  # Regular expression over folded text, without boundaries.
    owners: list[Owner] = field(default_factory=list)
    ordinary_word: bool = False
    folded: str = ""  # The folded name with its separators, e.g. "sam smith".

    @property
    def target_ids(self) -> tuple[str, ...]:
        """Return the ids of the other children known by this form."""
        return tuple(_unique(o.person_id for o in self.owners if o.role == "target"))

    @property
    def forms(self) -> tuple[str, ...]:
        """Return the forms (full, forename, ...) of this name, targets first."""
        return tuple(_unique(o.form for o in sorted(self.owners, key=lambda o: o.role != "target")))

    @property
    def initials(self) -> bool:
        """Say whether this form is only a person's initials."""
        return all(o.form == "initials" for o in self.owners)

    def decide(self) -> tuple[Decision, tuple[str, ...]]:
        """Return the decision for a hit and the reasons for it."""
        targets = self.target_ids
        if not targets:
            return "kept", ()
        reasons: list[str] = []
        roles = {o.role for o in self.owners}
        if "protected" in roles:
            reasons.append("shared_with_subject_or_family")
        if "staff" in roles:
            reasons.append("shared_with_staff")
        if self.initials:
            reasons.append("initials")
        target_forms = {o.form for o in self.owners if o.role == "target"}
        if target_forms == {"later_part"}:
            reasons.append("part_of_first_name")
        if self.ordinary_word and "full" not in self.forms:
            reasons.append("ordinary_word")
        return ("needs_review" if reasons else "redacted"), tuple(reasons)


@dataclass
class MatchSet:
    """Hold every name form to look for, grouped by folded key."""

    groups: dict[str, TermGroup]
    subject_id: str | None
    people: dict[str, Person]

    def group(self, matched: str) -> TermGroup | None:
        """Return the group for a folded matched text."""
        return self.groups.get(compact(matched))

    def target_people(self) -> list[Person]:
        """Return the other children whose names are removed."""
        ids = _unique(pid for g in self.groups.values() for pid in g.target_ids)
        return [self.people[pid] for pid in ids]


def compact(text: str) -> str:
    """Return a folded name with every separator removed."""
    return re.sub(r"[\s._'\-]+", "", text)


def split_parts(name: str) -> list[str]:
    """Split a hyphenated or double-barrelled name into its parts."""
    return [p for p in _SEPARATORS.split(name.strip()) if p]


def name_pattern(folded: str) -> str:
    """Return a regular expression matching a folded name with any separators between parts."""
    pieces = [re.escape(p) for p in re.split(r"[\s._'\-]+", folded) if p]
    return _SEPARATOR_CLASS.join(pieces)


def initials_pattern(first: str, last: str) -> str:
    """Return a regular expression for initials such as "J.S.", "J S" or "JS"."""
    return rf"{re.escape(first)}(?:\.\s?|\s)?{re.escape(last)}\.?"


def name_forms(person: Person) -> list[tuple[str, str]]:
    """Return (form, text) for every name form of a person, before folding."""
    forms: list[tuple[str, str]] = []
    surname = person.surname.strip()
    surname_parts = split_parts(surname) if surname else []
    for given in person.given_names():
        form = "forename"
        forms.append((form, given))
        if len(split_parts(given)) > 1:
            first, *later = split_parts(given)
            forms.append(("part", first))
            # "Anne" alone is weak evidence for "Chloë-Anne": the DSL decides.
            forms.extend(("later_part", part) for part in later)
        if surname:
            forms.append(("full", f"{given} {surname}"))
            if len(surname_parts) > 1:
                forms.extend(("full", f"{given} {part}") for part in surname_parts)
    if surname:
        forms.append(("surname", surname))
        if len(surname_parts) > 1:
            forms.extend(("part", part) for part in surname_parts)
    return forms


def diminutive_forms(person: Person) -> list[tuple[str, str]]:
    """Return (form, text) for the listed diminutives of a person's forename."""
    from exchange.redaction.diminutives import diminutives

    known = {fold_word(n) for n in person.given_names()}
    forms: list[tuple[str, str]] = []
    surname = person.surname.strip()
    for part in [person.forename, *split_parts(person.forename)]:
        for nick in diminutives(fold_word(part)):
            if nick in known:
                continue
            known.add(nick)
            forms.append(("diminutive", nick))
            if surname:
                forms.append(("full", f"{nick} {surname}"))
    return forms


def variants(person: Person) -> list[str]:
    """Return readable spellings of a person's names: cases, accent-free, possessives."""
    found: list[str] = []
    for _form, text in name_forms(person):
        plain = fold_word(text)
        for spelling in (text, text.upper(), text.lower(), plain, plain.title()):
            found.extend((spelling, f"{spelling}'s", f"{spelling}s'"))
    first = person.forename[:1]
    last = person.surname[:1]
    if first and last:
        found.extend((f"{first}.{last}.", f"{first} {last}", f"{first}{last}"))
    return _unique(found)


def build_match_set(
    people: Iterable[Person],
    subject_id: str | None = None,
    family_ids: Iterable[str] = (),
    *,
    diminutives: bool = True,
) -> MatchSet:
    """Build the match set: other children are targets, the subject, family and staff are kept.

    Other children are also looked for by the listed English diminutives of their forenames.
    """
    family = set(family_ids)
    by_id: dict[str, Person] = {}
    groups: dict[str, TermGroup] = {}
    for person in people:
        by_id[person.person_id] = person
        role = _role(person, subject_id, family)
        for form, text in name_forms(person):
            _add(groups, fold_word(text), Owner(person.person_id, form, role))
        if role == "target" and diminutives:
            for form, text in diminutive_forms(person):
                _add(groups, fold_word(text), Owner(person.person_id, form, role))
        if role == "target" and person.forename and person.surname:
            first, last = fold_word(person.forename)[:1], fold_word(person.surname)[:1]
            if first.isalpha() and last.isalpha():
                key = first + last
                group = groups.get(key)
                if group is None:
                    group = groups[key] = TermGroup(key, initials_pattern(first, last))
                group.owners.append(Owner(person.person_id, "initials", role))
    if subject_id is not None and subject_id not in by_id:
        raise ValidationError("the subject is not among the people given", where=subject_id)
    return MatchSet(groups, subject_id, by_id)


def _add(groups: dict[str, TermGroup], folded: str, owner: Owner) -> None:
    key = compact(folded)
    if not key:
        return
    group = groups.get(key)
    if group is None:
        group = groups[key] = TermGroup(key, name_pattern(folded), folded=folded)
        group.ordinary_word = key in ORDINARY_WORD_NAMES
    elif group.initials:
        # A real name form wins over initials that happen to spell the same letters.
        group.pattern = name_pattern(folded)
        group.folded = folded
        group.ordinary_word = key in ORDINARY_WORD_NAMES
    group.owners.append(owner)


def _role(person: Person, subject_id: str | None, family: set[str]) -> str:
    if person.person_id == subject_id or person.person_id in family or person.kind == "family":
        return "protected"
    if person.kind == "staff":
        return "staff"
    return "target"


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))
