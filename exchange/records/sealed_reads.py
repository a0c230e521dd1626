"""Bulk reads of sealed pupil fields (UPN, date of birth) opened with each pupil's key."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from exchange.records.models import Pupil
from exchange.vault.sealing import open_value, upn_index


def pupil_upns(session: Session, pupil_ids: Iterable[int]) -> dict[int, str]:
    """Return the UPN of each pupil id that exists."""
    rows = session.execute(
        select(Pupil.id, Pupil.school_id, Pupil.upn).where(Pupil.id.in_(list(pupil_ids)))
    )
    return {
        pupil_id: open_value(session, Pupil, "upn", school_id, pupil_id, pupil_id, raw)
        for pupil_id, school_id, raw in rows
    }


def pupil_births(session: Session, pupil_ids: Iterable[int]) -> dict[int, date | None]:
    """Return the date of birth (None when not recorded) of each pupil id that exists."""
    rows = session.execute(
        select(Pupil.id, Pupil.school_id, Pupil.date_of_birth).where(Pupil.id.in_(list(pupil_ids)))
    )
    return {
        pupil_id: open_value(session, Pupil, "date_of_birth", school_id, pupil_id, pupil_id, raw)
        for pupil_id, school_id, raw in rows
    }


def upn_is(session: Session, school_id: int, upn: str) -> ColumnElement[bool]:
    """Return the condition that finds a pupil of a school by UPN, through its blind index."""
    return Pupil.upn_index == upn_index(session, school_id, upn)
