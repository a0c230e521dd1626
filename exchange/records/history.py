"""Record every change to an incident as a time-stamped edit: nothing is silently rewritten."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from exchange.db import utcnow
from exchange.records.models import Incident, IncidentEdit

TRACKED_FIELDS = ("narrative", "status", "occurred_at", "body_map", "agencies")
EDITOR_KEY = "editor_staff_id"


def _as_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


@event.listens_for(Session, "before_flush")
def _record_incident_edits(session: Session, _context: Any, _instances: Any) -> None:
    for obj in list(session.dirty):
        if not isinstance(obj, Incident):
            continue
        state = inspect(obj)
        for field in TRACKED_FIELDS:
            history = state.attrs[field].history
            if not history.has_changes() or not history.deleted:
                continue
            previous, new = history.deleted[0], history.added[0] if history.added else None
            if previous == new:
                continue
            session.add(
                IncidentEdit(
                    incident=obj,
                    school_id=obj.school_id,
                    edited_at=session.info.get("edited_at") or utcnow(),
                    editor_id=session.info.get(EDITOR_KEY),
                    field=field,
                    previous_value=_as_text(previous),
                    new_value=_as_text(new),
                )
            )
