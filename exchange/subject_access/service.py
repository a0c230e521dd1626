"""Handle a subject access request from logging to the requester's acknowledgement.

Web views and CLI commands call these functions only; each checks the step (steps.begin),
does its work and records it (steps.finish) in the caller's transaction.
"""

from __future__ import annotations

import io
import uuid
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from exchange.db import utcnow
from exchange.errors import ValidationError
from exchange.instance import Instance
from exchange.packaging.offline import (
    check_receipt_code,
    generate_receipt_code,
    receipt_code_sha256,
)
from exchange.records.models import Pupil, School, StaffMember
from exchange.subject_access import clock, redaction, scope
from exchange.subject_access.exemptions import check_record
from exchange.subject_access.models import (
    RELATIONSHIPS,
    SubjectAccessExemption,
    SubjectAccessItem,
    SubjectAccessPerson,
    SubjectAccessRequest,
)
from exchange.subject_access.people import check_third_party
from exchange.subject_access.settings import sar_setting
from exchange.subject_access.steps import begin, finish, refused
from exchange.transfers.actors import Actor
from exchange.vault.pupil_keys import blob_context, pupil_data_key

NOT_LINKED = (
    "the requester is not recorded as the child, or as someone with parental responsibility "
    "for the child or written authority to act for them: ask for proof before answering"
)


def log_request(
    session: Session,
    school: School,
    actor: Actor,
    pupil: Pupil,
    *,
    requester_name: str,
    relationship: str,
    received_on: date,
    identity_check: str = "",
    authority_check: str = "",
    linked_to_child: bool = False,
    contact: str = "",
    scope_from: date | None = None,
    scope_to: date | None = None,
    categories: list[str] | None = None,
    today: date | None = None,
) -> SubjectAccessRequest:
    """Log a request and start its clock; a requester not linked to the child is refused."""
    begin(None, school.id, "log", actor)
    today = today or date.today()
    if pupil.school_id != school.id:
        raise ValidationError("the child must be on this school's records")
    if relationship not in RELATIONSHIPS:
        raise ValidationError(f"the relationship is one of {', '.join(RELATIONSHIPS)}")
    if not requester_name.strip():
        raise ValidationError("enter who made the request")
    if received_on > today:
        raise ValidationError("the date received cannot be in the future")
    if scope_from and scope_to and scope_from > scope_to:
        raise ValidationError("the start of the dates asked for is after their end")
    linked = relationship == "self" or bool(linked_to_child)
    request = SubjectAccessRequest(
        school_id=school.id,
        request_uid=str(uuid.uuid4()),
        pupil_id=pupil.id,
        state="open",
        requester_name=" ".join(requester_name.split()),
        requester_relationship=relationship,
        requester_contact=contact.strip() or None,
        identity_check=identity_check.strip() or None,
        authority_check=authority_check.strip() or None,
        linked_to_child=linked,
        received_on=received_on,
        due_on=clock.due_date(received_on),
        extension_months=0,
        child_age_at_receipt=clock.age_on(pupil.date_of_birth, received_on),
        scope_from=scope_from,
        scope_to=scope_to,
        scope_categories=[c.strip() for c in categories or [] if c.strip()],
        logged_by_user_id=actor.user_id,
    )
    session.add(request)
    session.flush()
    details: dict[str, Any] = {"pupil_id": pupil.id, "relationship": relationship}
    if not linked:
        finish(session, request, "log", actor, details)
        _close_refused(session, request, school, actor, NOT_LINKED)
        return request
    scope.build_scope(session, request)
    details["items"] = len(request.items)
    finish(session, request, "log", actor, details)
    return request


def record_checks(
    session: Session,
    request: SubjectAccessRequest,
    actor: Actor,
    *,
    identity_check: str,
    authority_check: str = "",
    linked_to_child: bool | None = None,
) -> None:
    """Record how the requester's identity (and their authority for the child) was checked."""
    begin(request, request.school_id, "record_checks", actor)
    if not identity_check.strip():
        raise ValidationError("say how the requester's identity was checked")
    request.identity_check = identity_check.strip()
    if authority_check.strip():
        request.authority_check = authority_check.strip()
    if linked_to_child is not None and request.requester_relationship != "self":
        request.linked_to_child = linked_to_child
    finish(session, request, "record_checks", actor, {"linked": request.linked_to_child})


def record_child_views(
    session: Session, request: SubjectAccessRequest, actor: Actor, *, consulted: bool, views: str
) -> None:
    """Record whether the child was consulted about a request made for them, and what they said."""
    begin(request, request.school_id, "record_child_views", actor)
    if request.requester_relationship == "self":
        raise ValidationError("the child made this request themselves")
    if not views.strip():
        raise ValidationError(
            "record what the child said" if consulted else "record why the child was not consulted"
        )
    request.child_consulted = consulted
    request.child_views = views.strip()
    finish(session, request, "record_child_views", actor, {"consulted": consulted})


def extend(
    session: Session,
    request: SubjectAccessRequest,
    actor: Actor,
    *,
    months: int,
    reason: str,
    told_on: date,
    today: date | None = None,
) -> None:
    """Extend the deadline of a complex request by one or two months in all, with the reason."""
    begin(request, request.school_id, "extend", actor)
    today = today or date.today()
    if months not in (1, 2) or months <= request.extension_months:
        raise ValidationError("an extension is to one or two further months in all, and longer")
    if not reason.strip():
        raise ValidationError("say why the request is complex")
    first_due = clock.due_date(request.received_on)
    if told_on > today:
        raise ValidationError("the requester cannot have been told in the future")
    if told_on < request.received_on or told_on > first_due:
        raise ValidationError(
            "the requester must be told of an extension within the first month "
            f"(by {first_due.isoformat()})"
        )
    request.extension_months = months
    request.extension_reason = reason.strip()
    request.extension_told_on = told_on
    request.due_on = clock.due_date(request.received_on, months)
    finish(session, request, "extend", actor, {"months": months, "due_on": str(request.due_on)})


def select_item(
    session: Session,
    request: SubjectAccessRequest,
    actor: Actor,
    item_id: int,
    *,
    included: bool,
    reason: str = "",
) -> None:
    """Include or leave out one record, with a reason when it departs from the request."""
    begin(request, request.school_id, "select_item", actor)
    scope.select_item(_item(request, item_id), included, reason)
    request.redacted_at = None
    finish(session, request, "select_item", actor, {"item": item_id, "included": included})


def add_person(
    session: Session,
    request: SubjectAccessRequest,
    actor: Actor,
    *,
    name: str = "",
    staff_id: int | None = None,
    reason: str = "",
) -> SubjectAccessPerson:
    """Remove an adult who is a third party, or a member of staff for a stated reason."""
    begin(request, request.school_id, "add_person", actor)
    pupil = redaction.subject_of(session, request)
    if staff_id is not None:
        staff = session.get(StaffMember, staff_id)
        if staff is None or staff.school_id != request.school_id:
            raise ValidationError("no such member of staff at this school")
        if not reason.strip():
            raise ValidationError("say why a member of staff acting in their role is removed")
        person = SubjectAccessPerson(role="staff_removed", name=staff.name, staff_id=staff.id)
    else:
        check_third_party(request, pupil, name)
        person = SubjectAccessPerson(role="third_party", name=" ".join(name.split()))
    person.school_id, person.pupil_id = request.school_id, request.pupil_id
    person.reason = reason.strip() or None
    person.added_by_user_id = actor.user_id
    request.people.append(person)
    request.redacted_at = None
    session.flush()
    finish(session, request, "add_person", actor, {"person": person.id, "role": person.role})
    return person


def redact(
    session: Session, instance: Instance, request: SubjectAccessRequest, actor: Actor
) -> list[SubjectAccessItem]:
    """Redact every included record for this requester; return the items now flagged."""
    begin(request, request.school_id, "redact", actor)
    redaction.redact_request(session, instance, request)
    flagged = [item for item in request.items if item.blocks_approval]
    finish(session, request, "redact", actor, {"flagged": len(flagged)})
    return flagged


def review(
    session: Session,
    request: SubjectAccessRequest,
    actor: Actor,
    item_id: int,
    *,
    resolution: str,
    note: str,
) -> None:
    """Record the DSL's decision on one flagged item."""
    begin(request, request.school_id, "review", actor)
    redaction.resolve_item(
        session, request, _item(request, item_id), resolution, note, actor.user_id
    )
    finish(session, request, "review", actor, {"item": item_id, "resolution": resolution})


def withhold(
    session: Session,
    request: SubjectAccessRequest,
    actor: Actor,
    item_id: int,
    *,
    exemption: str,
    reason: str,
    consulted: str = "",
    passage: str = "",
) -> SubjectAccessExemption:
    """Withhold a whole item, or one passage of it, under a named exemption with the reason."""
    begin(request, request.school_id, "withhold", actor)
    found = check_record(exemption, reason, consulted)
    item = _item(request, item_id)
    if not item.included:
        raise ValidationError("this record is not in the response")
    if passage.strip():
        if item.kind != "incident" or item.redacted is None:
            raise ValidationError(
                "a passage is withheld from a record's redacted text: redact first"
            )
        texts = [item.redacted.get("narrative", "")] + [
            a["text"] for a in item.redacted.get("actions", [])
        ]
        if not any(passage.strip() in text for text in texts):
            raise ValidationError("that passage is not in the record's redacted text")
    row = SubjectAccessExemption(
        school_id=request.school_id,
        request_id=request.id,
        item_id=item.id,
        pupil_id=request.pupil_id,
        exemption=found.code,
        passage=passage.strip() or None,
        reason=reason.strip(),
        consulted=consulted.strip() or None,
        decided_by_user_id=actor.user_id,
    )
    request.exemptions.append(row)
    session.flush()
    finish(
        session,
        request,
        "withhold",
        actor,
        {"item": item.id, "exemption": found.code, "passage": row.passage is not None},
    )
    return row


def release(
    session: Session, request: SubjectAccessRequest, actor: Actor, exemption_id: int
) -> None:
    """Withdraw an exemption: the item or passage is disclosed again."""
    begin(request, request.school_id, "release", actor)
    row = next((e for e in request.exemptions if e.id == exemption_id), None)
    if row is None:
        raise ValidationError("no such exemption on this request")
    request.exemptions.remove(row)
    session.delete(row)
    finish(session, request, "release", actor, {"exemption": exemption_id})


def problems(request: SubjectAccessRequest) -> list[str]:
    """Return what stops the response being sent for approval or approved, in words."""
    found = []
    if not request.identity_check:
        found.append(
            "no identity check is recorded: the request cannot be answered until the "
            "requester's identity has been checked"
        )
    if request.requester_relationship != "self" and not (
        request.linked_to_child and request.authority_check
    ):
        found.append("record how the requester's parental responsibility or authority was checked")
    if (
        request.requester_relationship != "self"
        and (request.child_age_at_receipt or 0) >= clock.CHILD_VIEWS_AGE
        and request.child_consulted is None
    ):
        found.append(
            "the child is old enough to understand their rights: record whether they were "
            "consulted and what they said"
        )
    if request.redacted_at is None:
        found.append("run the redaction for this requester (after the last change)")
    unreviewed = [item for item in request.items if item.blocks_approval]
    if unreviewed:
        found.append(f"{len(unreviewed)} redaction flag(s) are not reviewed")
    missing = [
        item
        for item in request.items
        if item.included
        and item.kind == "document"
        and not item.redacted_storage_key
        and request.redacted_at is not None
        and not item.blocks_approval
        and not _whole_item_withheld(request, item)
    ]
    if missing:
        found.append(f"{len(missing)} document(s) could not be redacted: leave them out")
    return found


def _whole_item_withheld(request: SubjectAccessRequest, item: SubjectAccessItem) -> bool:
    return any(e.item_id == item.id and e.passage is None for e in request.exemptions)


def submit(session: Session, request: SubjectAccessRequest, actor: Actor) -> None:
    """Send the prepared response for approval by a second person."""
    begin(request, request.school_id, "submit", actor)
    _require_ready(request, "submit", actor)
    request.submitted_by_user_id = actor.user_id
    request.submitted_at = utcnow()
    finish(session, request, "submit", actor)


MAX_SENT_BACK_NOTE = 2000


def send_back(
    session: Session, instance: Instance, request: SubjectAccessRequest, actor: Actor, reason: str
) -> None:
    """Return the response to the DSL with what to change (before it is sent)."""
    begin(request, request.school_id, "send_back", actor)
    note = reason.strip()
    if not note:
        raise ValidationError("say what should change")
    if len(note) > MAX_SENT_BACK_NOTE:
        raise ValidationError(
            f"say what should change in {MAX_SENT_BACK_NOTE:,} characters or fewer "
            f"(this is {len(note):,})"
        )
    _forget_response(request, instance)
    request.approved_by_user_id = None
    request.approved_at = None
    request.sent_back_note = note  # Sealed with the child's key; the audit keeps its length.
    finish(session, request, "send_back", actor, {"characters_asked": len(note)})


def approve(
    session: Session,
    instance: Instance,
    request: SubjectAccessRequest,
    actor: Actor,
    *,
    fresh_second_factor: bool,
) -> None:
    """Approve the response as a second person, just after a second factor; build the PDF."""
    begin(request, request.school_id, "approve", actor)
    if not fresh_second_factor:
        raise refused(
            request,
            request.school_id,
            "approve",
            actor,
            "confirm your second factor again just before approving",
        )
    if actor.user_id is not None and actor.user_id == request.submitted_by_user_id:
        raise refused(
            request,
            request.school_id,
            "approve",
            actor,
            "a second person approves: the DPO or another DSL, not whoever prepared it",
        )
    _require_ready(request, "approve", actor)
    from exchange.subject_access.response_pdf import build_response

    school = session.get(School, request.school_id)
    pupil = redaction.subject_of(session, request)
    code = generate_receipt_code()
    pdf = build_response(session, instance, request, school, pupil, code)
    key = pupil_data_key(session, pupil, instance.instance_key)
    _forget_response(request, instance)
    blob = instance.blobs.write(key, blob_context(pupil), io.BytesIO(pdf), 10 * len(pdf) + 2**20)
    request.response_storage_key = blob.storage_key
    request.response_sha256 = blob.sha256
    request.response_size = blob.size
    request.receipt_code_hash = receipt_code_sha256(code)
    request.approved_by_user_id = actor.user_id
    request.approved_at = utcnow()
    request.sent_back_note = None
    finish(session, request, "approve", actor, {"response_sha256": blob.sha256})


def response_bytes(session: Session, instance: Instance, request: SubjectAccessRequest) -> bytes:
    """Return the approved response PDF (the caller audits who read it)."""
    if not request.response_storage_key:
        raise ValidationError("the response has not been approved yet")
    pupil = redaction.subject_of(session, request)
    key = pupil_data_key(session, pupil, instance.instance_key)
    return instance.blobs.read_all(key, blob_context(pupil), request.response_storage_key)


def send(
    session: Session,
    instance: Instance,
    request: SubjectAccessRequest,
    actor: Actor,
    *,
    method: str,
) -> Any:
    """Send the approved response: an AES-256 zip (passphrase given separately) or printed."""
    begin(request, request.school_id, "send", actor)
    if method not in ("zip", "print"):
        raise ValidationError("send the response as an encrypted zip or print it")
    package = None
    if method == "zip":
        from exchange.subject_access.package import write_package

        package = write_package(instance, request, response_bytes(session, instance, request))
        request.package_sha256 = package.zip_sha256
    request.delivery = method
    request.sent_by_user_id = actor.user_id
    request.sent_at = utcnow()
    finish(session, request, "send", actor, {"method": method})
    return package


def acknowledge(
    session: Session,
    instance: Instance,
    request: SubjectAccessRequest,
    actor: Actor,
    *,
    code: str,
    confirmed_by: str,
) -> None:
    """Close the request with the receipt code the requester read back."""
    begin(request, request.school_id, "acknowledge", actor)
    if not confirmed_by.strip():
        raise ValidationError("say who read the code back, and how (phone, letter, in person)")
    if not request.receipt_code_hash or not check_receipt_code(request.receipt_code_hash, code):
        raise refused(
            request,
            request.school_id,
            "acknowledge",
            actor,
            "the receipt code does not match: nothing was recorded",
        )
    from exchange.subject_access.package import package_path

    package_path(instance, request).unlink(missing_ok=True)
    request.acknowledged_at = utcnow()
    request.acknowledged_by = confirmed_by.strip()[:200]
    school = session.get(School, request.school_id)
    _close(request, school)
    finish(session, request, "acknowledge", actor, {"retain_until": str(request.retain_until)})


def refuse(session: Session, request: SubjectAccessRequest, actor: Actor, reason: str) -> None:
    """Refuse a request with the reason the requester is told (Art. 12(4): and their rights)."""
    begin(request, request.school_id, "refuse", actor)
    if not reason.strip():
        raise ValidationError("say why the request is refused")
    school = session.get(School, request.school_id)
    _close_refused(session, request, school, actor, reason.strip())


def _close_refused(
    session: Session, request: SubjectAccessRequest, school: School, actor: Actor, reason: str
) -> None:
    request.refusal_reason = reason
    _close(request, school)
    finish(session, request, "refuse", actor, to_state="refused")


def _close(request: SubjectAccessRequest, school: School) -> None:
    request.closed_at = utcnow()
    years = int(sar_setting(school, "retention_years"))
    request.retain_until = clock.add_months(request.closed_at.date(), 12 * years)


def _require_ready(request: SubjectAccessRequest, name: str, actor: Actor) -> None:
    found = problems(request)
    if found:
        raise refused(request, request.school_id, name, actor, "; ".join(found))


def _forget_response(request: SubjectAccessRequest, instance: Instance) -> None:
    if request.response_storage_key:
        instance.blobs.delete(request.response_storage_key)
    request.response_storage_key = None
    request.response_sha256 = None
    request.response_size = None
    request.receipt_code_hash = None


def _item(request: SubjectAccessRequest, item_id: int) -> SubjectAccessItem:
    item = next((i for i in request.items if i.id == item_id), None)
    if item is None:
        raise ValidationError(f"no item {item_id} on this request")
    return item
