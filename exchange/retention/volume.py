"""The volume guard: how much of a school's records a purge would destroy."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from exchange.records.models import Incident, VaultDocument
from exchange.retention.due import DOCUMENT, INCIDENT, classify, due_ids
from exchange.retention.holds import active_holds
from exchange.retention.review import approvals
from exchange.retention.ruleset import current_rule_set

CHUNK = 1000
AUTOMATIC = "automatic"


def guard_counts(
    session: Session, school_id: int, as_of: date, mode: str, percent: int
) -> dict[str, int]:
    """Return the records a purge on as_of would destroy, the school's records and the limit."""
    rules = current_rule_set(session, school_id)
    holds = active_holds(session, school_id)
    approved = None if mode == AUTOMATIC else approvals(session, school_id)
    would = 0
    for kind in (INCIDENT, DOCUMENT):
        ids = due_ids(session, school_id, kind, as_of)
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start : start + CHUNK]
            for record in classify(session, school_id, rules, holds, kind, chunk, as_of):
                if not record.held and (approved is None or approved.review_for(record)):
                    would += 1
    records = sum(
        session.scalar(select(func.count(model.id)).where(model.school_id == school_id)) or 0
        for model in (Incident, VaultDocument)
    )
    return {"would_destroy": would, "records": records, "percent": percent}
