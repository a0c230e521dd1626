"""Record every change to an incident as a time-stamped edit: nothing is silently rewritten."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from exchange.db import utcnow
from exchange.records.models import Incident, IncidentEdit

TRACKED_FIELDS = ("narrative", "status", "occurred_at", "body_map", "agencies")
EDITOR_KEY = "editor_staff_id"
MERGED_BY_KEY = "merged_by_transfer_id"
RESTORING_KEY = "restoring_after_recall"
# Kept as the "previous value" of a restoring edit in place of the recalled text it replaced.
RESTORED_NOTE = "restored: the sending school recalled the follow-up"


@contextmanager
def merged_by(session: Session, transfer_id: int) -> Iterator[None]:
    """Flush the changes made inside as edits that name the follow-up transfer merging them."""
    session.info[MERGED_BY_KEY] = transfer_id
    try:
        yield
        session.flush()
    finally:
        session.info.pop(MERGED_BY_KEY, None)


@contextmanager
def restoring_after_recall(session: Session, fields: Collection[tuple[int, str]]) -> Iterator[None]:
    """Flush the (incident id, field) changes made inside as edits restoring a recalled value.

    The edit keeps RESTORED_NOTE, not the recalled text, as the value it replaced.
    """
    session.info[RESTORING_KEY] = frozenset(fields)
    try:
        yield
        session.flush()
    finally:
        session.info.pop(RESTORING_KEY, None)


def as_text(value: Any) -> str | None:
    """Return a field's value as an edit stores it."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


@event.listens_for(Session, "before_flush")
def _record_incident_edits(session: Session, _context: Any, _instances: Any) -> None:
    restoring = session.info.get(RESTORING_KEY) or frozenset()
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
                    previous_value=(
                        RESTORED_NOTE if (obj.id, field) in restoring else as_text(previous)
                    ),
                    new_value=as_text(new),
                    merged_by_transfer_id=session.info.get(MERGED_BY_KEY),
                )
            )
