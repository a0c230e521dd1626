"""Who is kept and who is removed in a response to this requester.

Other children are removed; the DSL adds the adults who are not acting in a professional role
(a parent's partner, other relatives); staff are kept unless the DSL removes one for a stated
reason. The child and the requester are never removed as third parties.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from exchange.errors import ValidationError
from exchange.records.models import Pupil
from exchange.redaction.names import Person
from exchange.redaction.pseudonyms import PseudonymBook
from exchange.subject_access.models import SubjectAccessRequest
from exchange.transfers.people import people_to_consider, pupil_person_id

REQUESTER_ID = "requester"


class RequesterLabels(PseudonymBook):
    """Label removed names without letters, so nothing links one removal to another."""

    def label(self, person_ids: object) -> str:
        """Return "[another child]" or "[another person]"."""
        ids = list(dict.fromkeys(person_ids))  # type: ignore[call-overload]
        if ids and all(str(pid).startswith("pupil:") for pid in ids):
            return "[another child]"
        return "[another person]"


def _name_parts(name: str) -> tuple[str, str]:
    parts = name.split()
    if not parts:
        raise ValidationError("a person needs a name")
    return (" ".join(parts[:-1]), parts[-1]) if len(parts) > 1 else (parts[0], "")


def people_for(
    session: Session, request: SubjectAccessRequest, pupil: Pupil
) -> tuple[list[Person], str, list[str]]:
    """Return everyone to consider, the child's person id and the protected (family) ids."""
    removed_staff = {p.staff_id for p in request.people if p.role == "staff_removed"}
    people = []
    for person in people_to_consider(session, pupil):
        if person.kind == "staff" and int(person.person_id.split(":")[1]) in removed_staff:
            person = Person(person.person_id, person.forename, person.surname, kind="extra")
        people.append(person)
    family: list[str] = []
    if request.requester_relationship != "self" and request.requester_name:
        forename, surname = _name_parts(request.requester_name)
        people.append(Person(REQUESTER_ID, forename, surname, kind="family"))
        family.append(REQUESTER_ID)
    for extra in request.people:
        if extra.role == "third_party":
            forename, surname = _name_parts(extra.name)
            people.append(Person(f"other:{extra.id}", forename, surname, kind="extra"))
    return people, pupil_person_id(pupil.id), family


def check_third_party(request: SubjectAccessRequest, pupil: Pupil, name: str) -> None:
    """Refuse to treat the requester or the child as a third party."""
    folded = " ".join(name.split()).casefold()
    if not folded:
        raise ValidationError("enter the person's name")
    protected = {f"{pupil.forename} {pupil.surname}".casefold()}
    if request.requester_name and request.requester_relationship != "self":
        protected.add(" ".join(request.requester_name.split()).casefold())
    if folded in protected:
        raise ValidationError(
            "the requester's and the child's own information is never removed as a third party"
        )
