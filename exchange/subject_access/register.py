"""The DPO's register: every request with its clock, reminders, overdue requests, retention."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, load_only

from exchange.audit.service import record_event
from exchange.instance import Instance
from exchange.records.models import School
from exchange.subject_access.clock import days_left
from exchange.subject_access.models import (
    SubjectAccessExemption,
    SubjectAccessItem,
    SubjectAccessPerson,
    SubjectAccessRequest,
    SubjectAccessStep,
)
from exchange.subject_access.package import package_path
from exchange.subject_access.settings import sar_setting
from exchange.subject_access.steps import ACTIVE, OBJECT_TYPE
from exchange.transfers.actors import Actor

# The register reads only what is not sealed, so it still works once a child's file (and with
# it the child's key) has been purged while the request is kept.
R = SubjectAccessRequest
METADATA = load_only(
    R.id, R.school_id, R.pupil_id, R.request_uid, R.state, R.received_on, R.due_on,
    R.extension_months, R.closed_at, R.retain_until, R.last_reminder_on, R.response_storage_key,
)  # fmt: skip


@dataclass(frozen=True)
class RegisterRow:
    """One request as the register shows it: no names, only ids, dates and states."""

    request: SubjectAccessRequest
    days_left: int | None
    overdue: bool


def register(session: Session, school_id: int, today: date) -> list[RegisterRow]:
    """Return every request of the school, the most urgent open ones first."""
    rows = session.scalars(
        select(SubjectAccessRequest)
        .options(METADATA)
        .where(SubjectAccessRequest.school_id == school_id)
        .order_by(SubjectAccessRequest.due_on, SubjectAccessRequest.id)
    ).all()
    made = [_row(request, today) for request in rows]
    return sorted(made, key=lambda r: (r.request.state not in ACTIVE, r.request.due_on))


def _row(request: SubjectAccessRequest, today: date) -> RegisterRow:
    if request.state not in ACTIVE:
        return RegisterRow(request, None, False)
    left = days_left(request.due_on, today)
    return RegisterRow(request, left, left < 0)


def overdue(session: Session, school_id: int, today: date) -> list[SubjectAccessRequest]:
    """Return the requests whose response has not gone and whose due date has passed."""
    return list(
        session.scalars(
            select(SubjectAccessRequest)
            .options(METADATA)
            .where(
                SubjectAccessRequest.school_id == school_id,
                SubjectAccessRequest.state.in_(ACTIVE),
                SubjectAccessRequest.due_on < today,
            )
            .order_by(SubjectAccessRequest.due_on)
        )
    )


START_PAGE_DAYS = 5  # The DPO's start page shows requests overdue or due within this many days.


def due_soon(
    session: Session, school_id: int, today: date, within: int = START_PAGE_DAYS
) -> list[RegisterRow]:
    """Return the open requests overdue or due within the given days, the most urgent first."""
    rows = session.scalars(
        select(SubjectAccessRequest)
        .options(METADATA)
        .where(
            SubjectAccessRequest.school_id == school_id,
            SubjectAccessRequest.state.in_(ACTIVE),
        )
        .order_by(SubjectAccessRequest.due_on, SubjectAccessRequest.id)
    )
    made = [_row(request, today) for request in rows]
    return [row for row in made if row.days_left is not None and row.days_left <= within]


def reminders_due(session: Session, school: School, today: date) -> list[SubjectAccessRequest]:
    """Return open requests due within the school's reminder window not yet reminded today."""
    window = int(sar_setting(school, "reminder_days"))
    rows = session.scalars(
        select(SubjectAccessRequest)
        .options(METADATA)
        .where(
            SubjectAccessRequest.school_id == school.id,
            SubjectAccessRequest.state.in_(ACTIVE),
        )
    )
    return [r for r in rows if days_left(r.due_on, today) <= window and r.last_reminder_on != today]


def remind(session: Session, school: School, today: date) -> list[SubjectAccessRequest]:
    """Record today's reminders (audited, ids only); return the requests reminded."""
    due = reminders_due(session, school, today)
    for request in due:
        request.last_reminder_on = today
        record_event(
            session,
            school.id,
            None,
            "system",
            "sar.reminder",
            OBJECT_TYPE,
            request.request_uid,
            None,
            {"due_on": str(request.due_on), "days_left": days_left(request.due_on, today)},
        )
    return due


def purge_expired(
    session: Session, instance: Instance, school_id: int, today: date, actor: Actor
) -> int:
    """Destroy the requests whose retention has ended, with their responses; audit each."""
    from exchange.auth.permissions import require

    require(actor.role, "sar.purge")
    expired = session.scalars(
        select(SubjectAccessRequest)
        .options(METADATA)
        .where(
            SubjectAccessRequest.school_id == school_id,
            SubjectAccessRequest.retain_until.is_not(None),
            SubjectAccessRequest.retain_until < today,
        )
    ).all()
    for request in expired:
        blobs = session.scalars(
            select(SubjectAccessItem.redacted_storage_key).where(
                SubjectAccessItem.request_id == request.id,
                SubjectAccessItem.redacted_storage_key.is_not(None),
            )
        )
        for storage_key in blobs:
            instance.blobs.delete(storage_key)
        if request.response_storage_key:
            instance.blobs.delete(request.response_storage_key)
        package_path(instance, request).unlink(missing_ok=True)
        for model in (
            SubjectAccessExemption,
            SubjectAccessItem,
            SubjectAccessPerson,
            SubjectAccessStep,
        ):
            session.execute(
                delete(model).where(model.request_id == request.id),
                execution_options={"synchronize_session": False},
            )
        session.execute(
            delete(SubjectAccessRequest).where(SubjectAccessRequest.id == request.id),
            execution_options={"synchronize_session": False},
        )
        record_event(
            session,
            school_id,
            actor.user_id,
            actor.role,
            "sar.destroyed",
            OBJECT_TYPE,
            request.request_uid,
            actor.request_id,
            {"retain_until": str(request.retain_until)},
        )
    session.expire_all()
    return len(expired)
