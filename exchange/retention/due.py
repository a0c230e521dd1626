"""Find what is due: indexed candidates, re-dated under the current rules and checked for holds."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from exchange.records.models import Incident, VaultDocument
from exchange.retention.assign import document_dates, incident_dates, incident_paths
from exchange.retention.holds import ActiveHolds
from exchange.retention.rules import RuleSet, is_due

INCIDENT = "incident"
DOCUMENT = "document"


@dataclass(frozen=True)
class DueRecord:
    """A record a purge on the given day would destroy, unless held."""

    kind: str
    id: int
    pupil_id: int
    incident_id: int | None
    retain_until: date
    rule: str
    paths: tuple[str, ...]
    media_type: str | None
    held: bool
    hold_reasons: tuple[str, ...] = ()


def due_ids(
    session: Session, school_id: int, kind: str, before: date, after_id: int = 0, limit: int = 0
) -> list[int]:
    """Return ids of records stored as due before a day, by id, using the retain_until index."""
    model = Incident if kind == INCIDENT else VaultDocument
    # "+ 0" keeps the id range off the indexes (SQLite's documented way): otherwise SQLite
    # walks the school_id index from after_id through every record kept, and the purge grows
    # with the school; this way it reads the school-and-date index, only the due records.
    query = (
        select(model.id)
        .where(model.school_id == school_id, model.retain_until < before, model.id + 0 > after_id)
        .order_by(model.id)
    )
    if limit:
        query = query.limit(limit)
    return list(session.scalars(query))


def undated_ids(session: Session, school_id: int, kind: str) -> list[int]:
    """Return ids of records with no date (new, or waiting for a date of birth)."""
    model = Incident if kind == INCIDENT else VaultDocument
    return list(
        session.scalars(
            select(model.id).where(model.school_id == school_id, model.retain_until.is_(None))
        )
    )


def classify(
    session: Session,
    school_id: int,
    rules: RuleSet,
    holds: ActiveHolds,
    kind: str,
    ids: Sequence[int],
    before: date,
) -> list[DueRecord]:
    """Re-date candidate records under rules; return those due before the day, marking holds."""
    if not ids:
        return []
    if kind == INCIDENT:
        dates = incident_dates(session, school_id, rules, ids)
        pairs = session.execute(select(Incident.id, Incident.pupil_id).where(Incident.id.in_(ids)))
        rows = [(record_id, pupil_id, record_id, None) for record_id, pupil_id in pairs]
    else:
        dates = document_dates(session, school_id, rules, ids)
        rows = session.execute(
            select(
                VaultDocument.id,
                VaultDocument.pupil_id,
                VaultDocument.incident_id,
                VaultDocument.media_type,
            ).where(VaultDocument.id.in_(ids))
        ).all()
    paths = incident_paths(session, sorted({row[2] for row in rows if row[2] is not None}))
    found = []
    for record_id, pupil_id, incident_id, media_type in rows:
        until, rule = dates.get(record_id, (None, ""))
        if until is None or not is_due(until, before):
            continue
        record_paths = tuple(sorted(paths.get(incident_id, ()))) if incident_id else ()
        reasons = holds.reasons(pupil_id, incident_id or 0, record_paths)
        found.append(
            DueRecord(
                kind,
                record_id,
                pupil_id,
                incident_id,
                until,
                rule,
                record_paths,
                media_type,
                bool(reasons),
                reasons,
            )
        )
    return sorted(found, key=lambda record: record.id)
