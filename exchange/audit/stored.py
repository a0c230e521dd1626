"""Read audit rows exactly as stored, so a damaged value becomes a finding instead of a crash.

Verification must survive anything a person with write access to the database could leave:
text where bytes belong, NULLs, numbers as text. Each column is read without SQLAlchemy's
type processing and checked here; a value of the wrong type is None plus a problem.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Column, Dialect, LargeBinary, Select, String, Text, select, type_coerce
from sqlalchemy.orm import Session
from sqlalchemy.types import NullType

from exchange.audit.models import AuditCheckpoint, AuditEntry, AuditHead
from exchange.types import UTCDateTime

BATCH = 1000


@dataclass
class StoredRow:
    """One row's values by column name; a value that has the wrong type is None."""

    values: dict[str, Any]
    problems: list[str] = field(default_factory=list)

    def __getitem__(self, name: str) -> Any:
        return self.values[name]


def stored_entries(session: Session, school_id: int) -> Iterator[StoredRow]:
    """Yield the school's entries in seq order, each value checked for its type."""
    table = AuditEntry.__table__
    query = _raw_select(table.c).where(table.c.school_id == school_id).order_by(table.c.seq)
    yield from _rows(session, query.execution_options(yield_per=BATCH), table.c)


def stored_checkpoints(session: Session, school_id: int) -> Iterator[StoredRow]:
    """Yield the school's checkpoints in the order they were made."""
    table = AuditCheckpoint.__table__
    query = _raw_select(table.c).where(table.c.school_id == school_id).order_by(table.c.id)
    yield from _rows(session, query, table.c)


def stored_head(session: Session, school_id: int) -> StoredRow | None:
    """Return the school's head row, or None when there is none."""
    table = AuditHead.__table__
    query = _raw_select(table.c).where(table.c.school_id == school_id)
    return next(_rows(session, query, table.c), None)


def _raw_select(columns: Any) -> Select[Any]:
    return select(*(type_coerce(column, NullType()).label(column.name) for column in columns))


def _rows(session: Session, query: Select[Any], columns: Any) -> Iterator[StoredRow]:
    dialect = session.get_bind().dialect
    for raw in session.execute(query).mappings():
        row = StoredRow({})
        for column in columns:
            value, problem = _checked(column, raw[column.name], dialect)
            row.values[column.name] = value
            if problem:
                row.problems.append(f"its {column.name} {problem}")
        yield row


def _checked(column: Column[Any], value: Any, dialect: Dialect) -> tuple[Any, str | None]:
    """Return the value converted to the column's Python type, or None and what is wrong."""
    if value is None:
        return None, "is NULL"
    kind = column.type
    if isinstance(kind, LargeBinary):
        if isinstance(value, bytes | bytearray | memoryview):
            return bytes(value), None
        return None, f"is stored as {_described(value)}, not bytes"
    if isinstance(kind, String | Text):
        if isinstance(value, str):
            return value, None
        return None, f"is stored as {_described(value)}, not text"
    if isinstance(kind, UTCDateTime):
        return _datetime(kind, value, dialect)
    if isinstance(value, int) and not isinstance(value, bool):
        return value, None
    return None, f"is stored as {_described(value)}, not a whole number"


def _datetime(kind: UTCDateTime, value: Any, dialect: Dialect) -> tuple[Any, str | None]:
    process = kind.dialect_impl(dialect).result_processor(dialect, None)
    try:
        parsed = process(value) if process else value
    except (TypeError, ValueError, AttributeError):
        parsed = None
    if isinstance(parsed, datetime):
        return parsed, None
    return None, f"is stored as {_described(value)}, not a date and time"


def _described(value: Any) -> str:
    """Name a stored value's type without echoing its content."""
    names = {str: "text", bytes: "bytes", int: "a number", float: "a real number"}
    return names.get(type(value), type(value).__name__)
