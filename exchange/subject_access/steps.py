"""The steps a request can take: from which states, to which, and the permission each needs.

Every caller (web, CLI) goes through `begin` and `finish`: the permission table, the school and
the state are checked in one place, and every step is recorded and audited (ids, no names).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from exchange.audit.refusals import refusal_event
from exchange.audit.service import record_event
from exchange.auth.permissions import refusal
from exchange.subject_access.errors import RequestRefused
from exchange.subject_access.models import SubjectAccessRequest, SubjectAccessStep
from exchange.transfers.actors import Actor

OPEN, AWAITING, APPROVED, SENT, CLOSED, REFUSED = STATES = (
    "open",
    "awaiting_approval",
    "approved",
    "sent",
    "closed",
    "refused",
)
ACTIVE = (OPEN, AWAITING, APPROVED)  # The clock runs: the response has not gone yet.
OBJECT_TYPE = "subject_access_request"
AUDIT_REASON = 200  # The audit log keeps short reasons only.


@dataclass(frozen=True)
class Step:
    """One step: the states it starts from, the state it leaves (None: unchanged), who may."""

    from_states: tuple[str | None, ...]
    to_state: str | None
    permission: str


STEPS: dict[str, Step] = {
    "log": Step((None,), OPEN, "sar.log"),
    "record_checks": Step((OPEN,), None, "sar.log"),
    "record_child_views": Step((OPEN,), None, "sar.log"),
    "extend": Step(ACTIVE, None, "sar.decide"),
    "select_item": Step((OPEN,), None, "sar.prepare"),
    "add_person": Step((OPEN,), None, "sar.prepare"),
    "redact": Step((OPEN,), None, "sar.prepare"),
    "review": Step((OPEN,), None, "sar.prepare"),
    "withhold": Step((OPEN,), None, "sar.prepare"),
    "release": Step((OPEN,), None, "sar.prepare"),
    "submit": Step((OPEN,), AWAITING, "sar.prepare"),
    "send_back": Step((AWAITING, APPROVED), OPEN, "sar.approve"),
    "approve": Step((AWAITING,), APPROVED, "sar.approve"),
    "send": Step((APPROVED,), SENT, "sar.send"),
    "acknowledge": Step((SENT,), CLOSED, "sar.send"),
    "refuse": Step((OPEN, AWAITING), REFUSED, "sar.decide"),
}


def refused(
    request: SubjectAccessRequest | None, school_id: int, name: str, actor: Actor, reason: str
) -> RequestRefused:
    """Return the refusal of a step, with the audit event its caller records after rollback."""
    object_id = request.request_uid if request is not None else "new"
    return RequestRefused(
        reason,
        audit=refusal_event(
            school_id,
            actor.user_id,
            actor.role,
            f"sar.{name}_refused",
            OBJECT_TYPE,
            object_id,
            actor.request_id,
            reason if len(reason) <= AUDIT_REASON else reason[: AUDIT_REASON - 1] + "…",
        ),
    )


def begin(request: SubjectAccessRequest | None, school_id: int, name: str, actor: Actor) -> None:
    """Refuse the step unless this person, at this school, may take it in this state."""
    step = STEPS[name]
    reason = refusal(actor.role, step.permission)
    if reason is None and actor.school_id not in (None, school_id):
        reason = "this request belongs to another school"
    state = request.state if request is not None else None
    if reason is None and state not in step.from_states:
        reason = f"this request is {(state or 'new').replace('_', ' ')}: it cannot be {_verb(name)}"
    if reason is not None:
        raise refused(request, school_id, name, actor, reason)


def finish(
    session: Session,
    request: SubjectAccessRequest,
    name: str,
    actor: Actor,
    details: dict[str, Any] | None = None,
    to_state: str | None = None,
) -> None:
    """Move the request (if the step moves it), record the step and audit it."""
    step = STEPS[name]
    before = None if name == "log" else request.state
    target = to_state or step.to_state or request.state
    request.state = target
    details = dict(details or {})
    session.add(
        SubjectAccessStep(
            school_id=request.school_id,
            request_id=request.id,
            action=name,
            from_state=before,
            to_state=target,
            user_id=actor.user_id,
            user_role=actor.role,
            details=details,
        )
    )
    record_event(
        session,
        request.school_id,
        actor.user_id,
        actor.role,
        f"sar.{name}",
        OBJECT_TYPE,
        request.request_uid,
        actor.request_id,
        {**details, "from": before, "to": target},
    )


def audit_view(session: Session, request: SubjectAccessRequest, actor: Actor, what: str) -> None:
    """Record that someone looked at a request or its response (ids only)."""
    record_event(
        session,
        request.school_id,
        actor.user_id,
        actor.role,
        "sar.viewed",
        OBJECT_TYPE,
        request.request_uid,
        actor.request_id,
        {"what": what},
    )


def _verb(name: str) -> str:
    return {
        "approve": "approved",
        "send": "sent",
        "acknowledge": "closed by a receipt code",
        "refuse": "refused",
        "submit": "sent for approval",
        "send_back": "sent back",
        "extend": "extended",
    }.get(name, "changed")
