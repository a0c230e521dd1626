"""Scope every ORM query to one school: the single place tenant isolation is enforced."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria

from exchange.records.models import SchoolScoped

SCHOOL_KEY = "school_id"
UNSCOPED_KEY = "unscoped"


def scope_session(session: Session, school_id: int) -> Session:
    """Bind the session to one school: every query of school rows is filtered by it."""
    session.info[SCHOOL_KEY] = school_id
    return session


@event.listens_for(Session, "do_orm_execute")
def _add_school_criteria(state: ORMExecuteState) -> None:
    school_id = state.session.info.get(SCHOOL_KEY)
    if school_id is None or not (state.is_select or state.is_update or state.is_delete):
        return
    if state.is_column_load or state.is_relationship_load:
        return  # The criteria set on the parent query propagate to these loads.
    state.statement = state.statement.options(
        with_loader_criteria(
            SchoolScoped,
            lambda cls: cls.school_id == school_id,
            include_aliases=True,
            track_closure_variables=True,
        )
    )


@event.listens_for(Session, "before_flush")
def _refuse_cross_school_writes(session: Session, _context: Any, _instances: Any) -> None:
    school_id = session.info.get(SCHOOL_KEY)
    if school_id is None:
        return
    for obj in list(session.new) + list(session.dirty):
        if isinstance(obj, SchoolScoped) and obj.school_id not in (None, school_id):
            raise PermissionError("a session scoped to one school cannot write another's rows")
