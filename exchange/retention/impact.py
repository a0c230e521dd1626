"""What a shortening would make due: counts only, for the notice emailed to DSLs and DPOs."""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from exchange.records.models import Incident, VaultDocument
from exchange.retention.due import DOCUMENT, INCIDENT, DueRecord, classify
from exchange.retention.forecast import UNCATEGORISED
from exchange.retention.holds import active_holds
from exchange.retention.rules import RuleSet

CHUNK = 1000


def _due(
    session: Session, school_id: int, rules: RuleSet, kind: str, ids: list[int], before: date
) -> dict[int, DueRecord]:
    holds = active_holds(session, school_id)
    found: dict[int, DueRecord] = {}
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        found.update(
            (r.id, r) for r in classify(session, school_id, rules, holds, kind, chunk, before)
        )
    return found


def change_impact(
    session: Session,
    school_id: int,
    old: RuleSet,
    new: RuleSet,
    effective_on: date,
) -> dict[str, Any]:
    """Return counts of records due at the purge of effective_on only because of the change."""
    pupils: set[int] = set()
    by_category: Counter[str] = Counter()
    counts = {"incidents": 0, "documents": 0, "held": 0}
    for kind, model in ((INCIDENT, Incident), (DOCUMENT, VaultDocument)):
        ids = list(
            session.scalars(select(model.id).where(model.school_id == school_id).order_by(model.id))
        )
        before = _due(session, school_id, old, kind, ids, effective_on)
        after = _due(session, school_id, new, kind, ids, effective_on)
        for record_id, record in after.items():
            if record_id in before:
                continue
            if record.held:
                counts["held"] += 1
                continue
            counts["incidents" if kind == INCIDENT else "documents"] += 1
            pupils.add(record.pupil_id)
            if kind == INCIDENT:
                by_category.update(record.paths or (UNCATEGORISED,))
    return {
        "effective_on": effective_on.isoformat(),
        **counts,
        "pupils": len(pupils),
        "incidents_by_category": dict(sorted(by_category.items())),
    }
