"""The volume guard: how much of a school's records a purge would destroy."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, literal, select
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
    return {
        "would_destroy": would,
        "records": _records_deciding(session, school_id, would, percent),
        "percent": percent,
    }


def _records_deciding(session: Session, school_id: int, would: int, percent: int) -> int:
    """Return the school's record count, counted only as far as it decides the guard.

    The guard stops when would * 100 > percent * records. Once records reaches
    ceil(would * 100 / percent) the purge may go, so counting stops there: a stopped purge
    reports the exact total, and the work is bounded by the due set, not the school's size.
    """
    limit = -(-would * 100 // percent) if percent > 0 else None
    counted = 0
    for model in (Incident, VaultDocument):
        if limit is not None and counted >= limit:
            break
        rows = select(literal(1)).where(model.school_id == school_id)
        if limit is not None:
            rows = rows.limit(limit - counted)
        counted += session.scalar(select(func.count()).select_from(rows.subquery())) or 0
    return counted
