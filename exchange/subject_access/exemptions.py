"""The exemptions a DSL may apply to a subject access response, each with its legal basis.

The requester's schedule names the exemption and its basis for each withheld item, never the
item's content or the reason the DSL recorded (which may itself identify someone).
"""

from __future__ import annotations

from dataclasses import dataclass

from exchange.errors import ValidationError


@dataclass(frozen=True)
class Exemption:
    """One exemption: what the requester reads, its basis, and what must be recorded with it."""

    code: str
    title: str
    basis: str
    consultee: str | None = None  # What must be named when it is applied, if anything.


CATALOGUE: dict[str, Exemption] = {
    e.code: e
    for e in (
        Exemption(
            "serious_harm",
            "Disclosure would be likely to cause serious harm to the physical or mental "
            "health of the child or another person",
            "Data Protection Act 2018, Schedule 3 Part 4 para 19 (education data; the test in "
            "para 17(2)); for health or social work data Part 2 paras 5-6 or Part 3 para 11: "
            "the serious harm test",
            "the appropriate professional consulted (name and role)",
        ),
        Exemption(
            "child_abuse_data",
            "Disclosure to a person with parental responsibility would not be in the child's "
            "best interests",
            "Data Protection Act 2018, Schedule 3 Part 5 para 21: child abuse data",
        ),
        Exemption(
            "child_expectations",
            "The child gave this information expecting it would not be shared with the requester",
            "Data Protection Act 2018, Schedule 3 (Part 2 para 4; Part 3 para 10): the data "
            "subject's expectations and wishes",
        ),
        Exemption(
            "informant",
            "Disclosure would identify a person who reported a concern",
            "Data Protection Act 2018, Schedule 2 Part 3 para 16, with 16(4)(a) (information "
            "identifying a person as the source): protection of the rights of others",
        ),
        Exemption(
            "third_party",
            "Information about another person",
            "Data Protection Act 2018, Schedule 2 Part 3 para 16: protection of the rights of "
            "others",
        ),
        Exemption(
            "legal_privilege",
            "Legal professional privilege",
            "Data Protection Act 2018, Schedule 2 Part 4 para 19",
        ),
        Exemption(
            "crime",
            "Disclosure would be likely to prejudice the prevention or detection of crime",
            "Data Protection Act 2018, Schedule 2 Part 1 para 2: crime and taxation",
            "who asked (police force, officer and reference)",
        ),
    )
}

# The schedule line for names removed by the redactor: the basis, never who they were.
OTHER_PEOPLE = CATALOGUE["third_party"]


def exemption(code: str) -> Exemption:
    """Return an exemption by its code, or refuse an unknown one."""
    found = CATALOGUE.get(code)
    if found is None:
        raise ValidationError(f"choose an exemption: one of {', '.join(CATALOGUE)}")
    return found


def check_record(code: str, reason: str, consulted: str) -> Exemption:
    """Return the exemption if its reason (and consultee, where needed) are recorded."""
    found = exemption(code)
    if not reason.strip():
        raise ValidationError("record why this exemption applies (kept for the DPO, not sent)")
    if found.consultee and not consulted.strip():
        raise ValidationError(f"this exemption needs {found.consultee}")
    return found
