"""The volume guard counts the school's records only as far as the decision needs."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy.orm import Session

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
