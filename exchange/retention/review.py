"""Disposition review: the DPO approves each pupil's due records, or holds them instead.

Unless the school has chosen automatic disposal, the purge destroys a record only if a DPO's
review approved it: the review names the record ids (of one pupil) due before its window's
end, so a record that became due later, or by a later rule change, needs a new review.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from exchange.audit.refusals import refusal_event
from exchange.audit.service import record_event
from exchange.auth.permissions import refusal
from exchange.db import utcnow
from exchange.errors import NotFound
from exchange.retention.actors import Actor
from exchange.retention.due import DueRecord
from exchange.retention.errors import RetentionForbidden
from exchange.retention.forecast import DEFAULT_DAYS, Forecast, PupilNotice, forecast
from exchange.retention.holds import place_hold
from exchange.retention.models import DisposalReview

DESTROY = "destroy"
HOLD = "hold"


@dataclass(frozen=True)
class Approvals:
    """The records DPO reviews approved for destruction: (kind, id) -> (review id, pupil id)."""

    records: dict[tuple[str, int], tuple[int, int, date]] = field(default_factory=dict)

    def review_for(self, record: DueRecord) -> int | None:
        """Return the review that approved this record, or None if none did."""
        found = self.records.get((record.kind, record.id))
        if found is None:
            return None
        review_id, pupil_id, window_until = found
        ok = pupil_id == record.pupil_id and record.retain_until < window_until
        return review_id if ok else None


def approvals(session: Session, school_id: int) -> Approvals:
    """Return every record the school's reviews approved for destruction."""
    found: dict[tuple[str, int], tuple[int, int, date]] = {}
    rows = session.scalars(
        select(DisposalReview).where(
            DisposalReview.school_id == school_id, DisposalReview.decision == DESTROY
        )
    )
    for row in rows:
        for kind, ids in dict(row.record_ids or {}).items():
            for record_id in ids:
                found[(kind, int(record_id))] = (row.id, row.pupil_id, row.window_until)
    return Approvals(found)


def _require(school_id: int, actor: Actor, target: str) -> None:
    reason = refusal(actor.role, "approve_disposal")
    if reason is None:
        return
    raise RetentionForbidden(
        reason,
        audit=refusal_event(
            school_id,
            actor.user_id,
            actor.role,
            "retention.disposal_review_refused",
            "pupil",
            target,
            None,
            reason,
        ),
    )


def _notice(result: Forecast, pupil_id: int) -> PupilNotice:
    for notice in result.pupils:
        if notice.pupil_id == pupil_id:
            return notice
    raise NotFound(f"nothing of pupil {pupil_id} is due in the review window")


def due_list(
    session: Session, school_id: int, instance_key: bytes, today: date, days: int = DEFAULT_DAYS
) -> tuple[Forecast, dict[int, DisposalReview]]:
    """Return the due list of the window and each listed pupil's latest review in it."""
    result = forecast(session, school_id, instance_key, today, days)
    reviews = {}
    ids = [notice.pupil_id for notice in result.pupils]
    rows = session.scalars(
        select(DisposalReview)
        .where(DisposalReview.school_id == school_id, DisposalReview.pupil_id.in_(ids))
        .order_by(DisposalReview.id)
    )
    for row in rows:
        reviews[row.pupil_id] = row
    return result, reviews


def _record_ids(records: Iterable[DueRecord]) -> dict[str, list[int]]:
    ids: dict[str, list[int]] = {}
    for record in records:
        if not record.held:
            ids.setdefault(record.kind, []).append(record.id)
    return ids


def decide(
    session: Session,
    school_id: int,
    instance_key: bytes,
    pupil_id: int,
    decision: str,
    actor: Actor,
    *,
    today: date,
    days: int = DEFAULT_DAYS,
    reason: str = "",
) -> DisposalReview:
    """Approve one pupil's due records for destruction, or place a hold on the pupil instead."""
    _require(school_id, actor, str(pupil_id))
    if decision not in (DESTROY, HOLD):
        raise NotFound(f"no decision {decision!r}: destroy or hold")
    result = forecast(session, school_id, instance_key, today, days)
    notice = _notice(result, pupil_id)
    records = [r for r in result.records if r.pupil_id == pupil_id]
    hold_id = None
    if decision == HOLD:
        hold_id = place_hold(session, school_id, "pupil", pupil_id, reason, actor).id
    row = DisposalReview(
        school_id=school_id,
        pupil_id=pupil_id,
        pupil_ref=notice.pupil_ref,
        decision=decision,
        window_until=result.until,
        record_ids=_record_ids(records) if decision == DESTROY else {},
        hold_id=hold_id,
        decided_by_user_id=actor.user_id,
        decided_at=utcnow(),
    )
    session.add(row)
    session.flush()
    ids = dict(row.record_ids or {})
    record_event(
        session,
        school_id,
        actor.user_id,
        actor.role,
        f"retention.disposal_{'approved' if decision == DESTROY else 'held'}",
        "disposal_review",
        str(row.id),
        details={
            "pupil_id": pupil_id,
            "incidents": len(ids.get("incident", [])),
            "documents": len(ids.get("document", [])),
            "window_until": (today + timedelta(days=days)).isoformat(),
        },
    )
    return row
