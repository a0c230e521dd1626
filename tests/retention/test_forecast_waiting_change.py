"""The forecast shows what a waiting shortening will make due, apart and marked with the change."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

from click.testing import CliRunner
from sqlalchemy.orm import Session

from exchange.instance import Instance
from exchange.retention.changes import cancel_change, request_change
from exchange.retention.cli import retention
from exchange.retention.forecast import forecast
from exchange.retention.review import due_list
from exchange.retention.ruleset import category_change
from tests.retention.support import World, add_incident, add_pupil, date_all

TODAY = date(2026, 3, 1)
EFFECTIVE = TODAY + timedelta(days=30)


def _setting(session: Session, world: World) -> tuple[int, int]:
    """A child kept to 35 by a Bullying rule (30 now), one due anyway, and the waiting change."""
    kept = add_pupil(session, world, date(1995, 6, 1))
    add_incident(session, world, kept, ("Bullying",))
    add_incident(session, world, kept, ("Child Protection/Neglect",))  # Kept to 25: due already.
    request_change(
        session,
        world.school.id,
        category_change("Bullying", "dob+35y"),
        world.dsl,
        fresh_second_factor=False,
        today=TODAY,
    )
    date_all(session, world, kept)
    pending = request_change(
        session,
        world.school.id,
        category_change("Bullying", "inherit"),
        world.dpo,
        fresh_second_factor=True,
        today=TODAY,
    ).pending
    assert pending is not None
    session.commit()
    return kept.id, pending.id


def test_the_waiting_change_is_shown_apart_from_the_effective_date(
    rinstance: Instance, world: World, session: Session
) -> None:
    pupil_id, change_id = _setting(session, world)
    before = forecast(session, world.school.id, rinstance.instance_key, TODAY, 29)
    assert before.by_change == []  # The change takes effect after the window.
    assert [(n.pupil_id, n.incidents) for n in before.pupils] == [(pupil_id, 1)]
    window = forecast(session, world.school.id, rinstance.instance_key, TODAY, 30)
    assert [(n.pupil_id, n.incidents) for n in window.pupils] == [(pupil_id, 1)]
    [line] = window.by_change
    assert (line.pupil_id, line.incidents, line.change_id) == (pupil_id, 1, change_id)
    assert line.change_effective_on == EFFECTIVE
    assert line.first_due == EFFECTIVE  # Due long ago under the new rule, but only from then.
    assert dict(line.incidents_by_category) == {"Bullying": 1}
    assert window.totals()["incidents"] == 1  # The totals are today's rules only.
    data = window.to_dict()["by_waiting_change"]
    assert data[0]["change_id"] == change_id
    assert data[0]["change_effective_on"] == EFFECTIVE.isoformat()
    result, _reviews = due_list(session, world.school.id, rinstance.instance_key, TODAY, 30)
    assert sum(n.incidents for n in result.pupils) == 1  # The review sees only what is due.
    assert all(r.paths != ("Bullying",) for r in result.records)


def test_a_cancelled_change_leaves_the_forecast(
    rinstance: Instance, world: World, session: Session
) -> None:
    _pupil_id, change_id = _setting(session, world)
    cancel_change(session, world.school.id, change_id, world.dpo)
    session.commit()
    window = forecast(session, world.school.id, rinstance.instance_key, TODAY, 60)
    assert window.by_change == []


def test_the_command_line_forecast_marks_the_waiting_change(
    rinstance: Instance, world: World, session: Session
) -> None:
    _pupil_id, change_id = _setting(session, world)
    obj: dict[str, Any] = {
        "session_factory": rinstance.sessions,
        "school_id": world.school.id,
        "instance": rinstance,
    }
    window = ["forecast", "--as-of", TODAY.isoformat(), "--days"]
    shown = CliRunner().invoke(retention, [*window, "30"], obj=obj)
    assert shown.exit_code == 0, shown.output
    assert "Due only because of a waiting rule change" in shown.output
    assert f"[waiting change {change_id}, in effect from {EFFECTIVE}]" in shown.output
    earlier = CliRunner().invoke(retention, [*window, "29"], obj=obj)
    assert "waiting change" not in earlier.output
    as_json = CliRunner().invoke(retention, [*window, "30", "--json"], obj=obj)
    [line] = json.loads(as_json.output)["by_waiting_change"]
    assert (line["change_id"], line["first_due"]) == (change_id, EFFECTIVE.isoformat())
