"""The full record of how a request was handled, for the DPO (an ICO complaint, an audit).

It holds the decisions and their reasons, who took each step and when, and the hashes of what
was sent; it does not hold the disclosed records themselves.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from exchange.records.models import User
from exchange.subject_access.exemptions import exemption
from exchange.subject_access.models import SubjectAccessRequest, SubjectAccessStep
from exchange.subject_access.schedule import build_schedule

EXPORT_VERSION = 1


def handling_record(session: Session, request: SubjectAccessRequest) -> dict[str, Any]:
    """Return the request's handling record as JSON-ready data."""
    users = {
        u.id: f"{u.name} ({u.role})"
        for u in session.scalars(select(User).where(User.school_id == request.school_id))
    }

    def who(user_id: int | None) -> str | None:
        return users.get(user_id) if user_id is not None else None

    steps = session.scalars(
        select(SubjectAccessStep)
        .where(SubjectAccessStep.request_id == request.id)
        .order_by(SubjectAccessStep.id)
    )
    return {
        "version": EXPORT_VERSION,
        "request": request.request_uid,
        "state": request.state,
        "pupil_id": request.pupil_id,
        "requester": {
            "name": request.requester_name,
            "relationship": request.requester_relationship,
            "identity_check": request.identity_check,
            "authority_check": request.authority_check,
            "linked_to_child": request.linked_to_child,
        },
        "clock": {
            "received_on": str(request.received_on),
            "due_on": str(request.due_on),
            "extension_months": request.extension_months,
            "extension_reason": request.extension_reason,
            "extension_told_on": _day(request.extension_told_on),
        },
        "child": {
            "age_at_receipt": request.child_age_at_receipt,
            "consulted": request.child_consulted,
            "views": request.child_views,
        },
        "scope": {
            "from": _day(request.scope_from),
            "to": _day(request.scope_to),
            "categories": list(request.scope_categories or []),
        },
        "items": [
            {
                "id": item.id,
                "kind": item.kind,
                "object_id": item.object_id,
                "record_date": item.occurred_at.isoformat() if item.occurred_at else None,
                "category": item.category,
                "provenance": item.provenance,
                "in_scope": item.in_scope,
                "included": item.included,
                "reason": item.reason,
                "flagged": item.flagged,
                "resolution": item.resolution,
                "resolution_note": item.resolution_note,
                "resolved_by": who(item.resolved_by_user_id),
                "redacted_sha256": item.redacted_sha256,
            }
            for item in request.items
        ],
        "people_removed": [
            {"id": p.id, "role": p.role, "staff_id": p.staff_id, "reason": p.reason}
            for p in request.people
        ],
        "exemptions": [
            {
                "id": row.id,
                "item": row.item_id,
                "exemption": row.exemption,
                "basis": exemption(row.exemption).basis,
                "passage": row.passage is not None,
                "reason": row.reason,
                "consulted": row.consulted,
                "decided_by": who(row.decided_by_user_id),
                "decided_at": row.decided_at.isoformat(),
            }
            for row in request.exemptions
        ],
        "schedule": [
            {
                "number": row.number,
                "record_date": _day(row.record_date),
                "category": row.category,
                "what": row.what,
                "reason": row.reason,
                "basis": row.basis,
            }
            for row in build_schedule(request)
        ],
        "response": {
            "submitted_by": who(request.submitted_by_user_id),
            "approved_by": who(request.approved_by_user_id),
            "approved_at": _time(request.approved_at),
            "sha256": request.response_sha256,
            "delivery": request.delivery,
            "zip_sha256": request.package_sha256,
            "sent_by": who(request.sent_by_user_id),
            "sent_at": _time(request.sent_at),
            "acknowledged_at": _time(request.acknowledged_at),
            "acknowledged_by": request.acknowledged_by,
            "refusal_reason": request.refusal_reason,
            "closed_at": _time(request.closed_at),
            "retain_until": _day(request.retain_until),
        },
        "steps": [
            {
                "action": step.action,
                "from": step.from_state,
                "to": step.to_state,
                "at": step.at.isoformat(),
                "by": who(step.user_id),
                "details": step.details,
            }
            for step in steps
        ],
    }


def _day(value: Any) -> str | None:
    return None if value is None else str(value)


def _time(value: Any) -> str | None:
    return None if value is None else value.isoformat()
