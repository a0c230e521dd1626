"""What keeps the purge's work bounded by what is due, not by the school's size.

Structural checks, not timings (bench/purge_bench.py measures): the due query reads the
school-and-date index, every foreign key the purge deletes through is indexed, and the volume
guard counts the school's records only as far as its decision needs.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

from exchange.db import Base
from exchange.retention.due import INCIDENT, due_ids
from exchange.retention.volume import AUTOMATIC, guard_counts
from tests.retention.support import World, add_incident, add_pupil, date_all

AS_OF = date(2026, 3, 2)
BORN = date(2001, 3, 1)  # 25th birthday 2026-03-01: due on AS_OF.


@pytest.mark.parametrize(
    ("percent", "records", "stops"),
    [
        (10, 10, False),  # 1 due needs 10 records at 10%: counting stops there.
        (4, 25, False),  # Needs 25: exactly enough, so it may go.
        (3, 31, True),  # Needs 34: all 31 counted, the exact total, so it stops.
        (0, 31, True),  # Nothing may go: the whole school is counted.
        (100, 1, False),  # Needs 1: the due record itself.
    ],
)
def test_the_guard_counts_up_to_what_decides_it(
    session: Session, world: World, percent: int, records: int, stops: bool
) -> None:
    young = add_pupil(session, world, date(2015, 1, 1))
    for _ in range(30):
        add_incident(session, world, young, ("Bullying",))
    old = add_pupil(session, world, BORN)
    add_incident(session, world, old, ("Bullying",))
    date_all(session, world, young, old)
    session.commit()
    counts = guard_counts(session, world.school.id, AS_OF, AUTOMATIC, percent)
    assert counts == {"would_destroy": 1, "records": records, "percent": percent}
    assert (counts["would_destroy"] * 100 > percent * counts["records"]) is stops


PURGED_TABLES = ("pupils", "incidents", "vault_documents")


def test_every_foreign_key_to_a_purged_table_is_indexed() -> None:
    # Deleting a row makes SQLite look up each foreign key to it in the referring table.
    missing = []
    for table in Base.metadata.sorted_tables:
        leading = {index.columns[0].name for index in table.indexes}
        leading.add(next(iter(table.primary_key.columns)).name)
        for key in table.foreign_keys:
            if key.column.table.name in PURGED_TABLES and key.parent.name not in leading:
                missing.append(f"{table.name}.{key.parent.name}")
    assert missing == []


def test_the_due_query_reads_the_school_and_date_index(session: Session, world: World) -> None:
    seen: list[tuple[str, object]] = []
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        pytest.skip("the query plan checked is SQLite's")

    def capture(_conn, _cursor, statement, parameters, _context, _many) -> None:  # type: ignore[no-untyped-def]
        seen.append((statement, parameters))

    event.listen(connection, "before_cursor_execute", capture)
    try:
        due_ids(session, world.school.id, INCIDENT, AS_OF, after_id=5, limit=500)
    finally:
        event.remove(connection, "before_cursor_execute", capture)
    statement, parameters = seen[-1]
    plan = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
    assert "ix_incidents_school_id_retain_until" in " ".join(row[-1] for row in plan)
