"""What waits for a school's DPO: receipts, holds, what becomes due, purge reviews."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import func, inspect, select
from sqlalchemy.orm import Session

from exchange.transfers.models import Transfer

WINDOW_DAYS = 90


@dataclass
class DpoWork:
    """Everything waiting for the school's DPO (pseudonymous: no child's name)."""

    receipts: int = 0
    awaiting_countersignature: list[Transfer] = field(default_factory=list)
    recent_receipts: list[Transfer] = field(default_factory=list)
    holds: list = field(default_factory=list)
    due: list = field(default_factory=list)  # PupilNotice rows of the forecast.
    reviews_waiting: list = field(default_factory=list)
    automatic: bool = False
    ready: bool = True

    def count(self) -> int:
        """Return how many things wait: purge reviews and receipts not yet countersigned."""
        return len(self.reviews_waiting) + len(self.awaiting_countersignature)


def dpo_work(
    session: Session, school_id: int, instance_key: bytes, today: date, days: int = WINDOW_DAYS
) -> DpoWork:
    """Return what waits for the school's DPO today, and what falls due within `days`."""
    work = DpoWork()
    receipted = select(Transfer).where(
        Transfer.school_id == school_id, Transfer.receipt_jws.is_not(None)
    )
    work.receipts = session.scalar(select(func.count()).select_from(receipted.subquery())) or 0
    work.recent_receipts = list(session.scalars(receipted.order_by(Transfer.id.desc()).limit(5)))
    work.awaiting_countersignature = list(
        session.scalars(receipted.where(Transfer.countersignature_jws.is_(None)))
    )
    if not inspect(session.get_bind()).has_table("legal_holds"):
        work.ready = False
        return work
    from exchange.retention.forecast import DEFAULT_DAYS
    from exchange.retention.holds import list_holds
    from exchange.retention.review import due_list
    from exchange.retention.settings import automatic_disposal

    work.holds = list_holds(session, school_id)
    notice, reviews = due_list(session, school_id, instance_key, today, days)
    work.due = notice.pupils
    work.automatic = automatic_disposal(session, school_id)
    if not work.automatic:
        # The retention page reviews the next DEFAULT_DAYS: those are the reviews waiting.
        review_until = today + timedelta(days=DEFAULT_DAYS)
        work.reviews_waiting = [
            p for p in notice.pupils if p.first_due <= review_until and p.pupil_id not in reviews
        ]
    return work
