"""The floors and the SEN categories: raising is at once, anything shorter is a shortening."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from exchange.audit.models import AuditEntry
from exchange.instance import Instance
from exchange.records.models import Incident, School
from exchange.retention.change_words import describe_change
from exchange.retention.changes import apply_due_changes
from exchange.retention.disposal import change_setting
from exchange.retention.errors import BelowFloor, RetentionForbidden
from exchange.retention.forecast import forecast
from exchange.retention.models import RetentionRuleChange
from exchange.retention.notify import change_notice
from exchange.retention.purge import purge_school
from exchange.retention.settings import retention_settings
from tests.retention.support import World, add_incident, add_pupil, date_all

TODAY = date(2026, 3, 1)
BORN = date(1995, 6, 1)  # 30th birthday 2025-06-01, 32nd 2027-06-01.


def _set(session: Session, world: World, key: str, value: object, actor=None, fresh=True):  # type: ignore[no-untyped-def]
    return change_setting(
        session, world.school.id, key, value, actor or world.dpo, fresh, today=TODAY
    )


def _events(session: Session, name: str) -> list[AuditEntry]:
    return list(session.scalars(select(AuditEntry).where(AuditEntry.event == name)))


def _setting(session: Session, world: World, key: str) -> object:
    session.expire_all()
    return retention_settings(session.get(School, world.school.id))[key]


def test_raising_a_floor_takes_effect_at_once_and_redates(session: Session, world: World) -> None:
    child = add_pupil(session, world, BORN)
    incident = add_incident(session, world, child, ("Bullying",))
    date_all(session, world, child)
    assert incident.retain_until == date(2020, 6, 1)
    outcome = _set(session, world, "floor_child_protection_years", 32)
    assert outcome is not None
    assert outcome.pending is None
    session.expire_all()
    assert session.get(Incident, incident.id).retain_until == date(2027, 6, 1)
    assert session.get(Incident, incident.id).retention_rule == "dob+32y"
    (event,) = _events(session, "retention.settings_changed")
    assert b"floor_child_protection_years" in event.canonical


def test_lowering_a_floor_waits_the_notice_period_then_applies(
    session: Session, world: World, rinstance: Instance
) -> None:
    child = add_pupil(session, world, BORN)
    add_incident(session, world, child, ("Bullying",))
    date_all(session, world, child)
    _set(session, world, "floor_child_protection_years", 32)
    outcome = _set(session, world, "floor_child_protection_years", 26)
    assert outcome is not None
    assert outcome.pending is not None
    pending = outcome.pending
    assert pending.effective_on == TODAY + timedelta(days=30)
    assert pending.notice["incidents"] == 1
    assert pending.notice["pupils"] == 1
    assert _setting(session, world, "floor_child_protection_years") == 32
    assert _events(session, "retention.rules_change_scheduled")
    session.commit()

    def purge(day: date) -> int:
        moment = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
        result = purge_school(
            rinstance.sessions, rinstance.blobs, rinstance.instance_key, world.school.id, now=moment
        )
        return int(result.totals.get("incidents", 0))

    assert purge(TODAY + timedelta(days=29)) == 0
    assert purge(TODAY + timedelta(days=30)) == 1
    session.expire_all()
    assert session.get(RetentionRuleChange, pending.id).state == "applied"
    assert _setting(session, world, "floor_child_protection_years") == 26


@pytest.mark.parametrize(
    ("key", "years", "allowed"),
    [
        ("floor_child_protection_years", 24, False),
        ("floor_child_protection_years", 25, True),
        ("floor_sen_years", 30, False),
        ("floor_sen_years", 31, True),
    ],
)
def test_no_floor_below_the_statutory_one(
    session: Session, world: World, key: str, years: int, allowed: bool
) -> None:
    if allowed:
        _set(session, world, key, years)
        return
    with pytest.raises(BelowFloor, match="cannot be below") as refused:
        _set(session, world, key, years)
    assert refused.value.audit["event"] == "retention.settings_below_floor_refused"  # type: ignore[index]


def test_the_sen_categories_add_at_once_and_remove_after_notice(
    session: Session, world: World
) -> None:
    child = add_pupil(session, world, date(1996, 1, 1))  # 31st birthday 2027-01-01.
    add_incident(session, world, child, ("SEN/EHCP review",))
    date_all(session, world, child)
    added = _set(session, world, "sen_categories", ["SEN", "Bullying"])
    assert added is not None
    assert added.pending is None
    assert _setting(session, world, "sen_categories") == ["SEN", "Bullying"]
    removed = _set(session, world, "sen_categories", ["Bullying"])
    assert removed is not None
    assert removed.pending is not None
    assert removed.pending.notice["incidents_by_category"] == {"SEN/EHCP review": 1}
    assert _setting(session, world, "sen_categories") == ["SEN", "Bullying"]
    _subject, body = change_notice(session.get(School, world.school.id), removed.pending)
    assert "the categories counted as SEN to Bullying" in body
    assert child.surname not in body
    lines = forecast(session, world.school.id, b"k" * 32, TODAY, 60).by_change
    assert [line.change_id for line in lines] == [removed.pending.id]


def test_only_the_dpo_with_a_fresh_second_factor(session: Session, world: World) -> None:
    with pytest.raises(RetentionForbidden, match="Only the DPO"):
        _set(session, world, "floor_sen_years", 40, world.dsl)
    with pytest.raises(RetentionForbidden, match="second factor"):
        _set(session, world, "floor_sen_years", 40, fresh=False)
    assert _setting(session, world, "floor_sen_years") == 31


def test_a_change_to_the_setting_during_the_notice_period_lapses_the_waiting_one(
    session: Session, world: World
) -> None:
    _set(session, world, "floor_sen_years", 40)
    outcome = _set(session, world, "floor_sen_years", 35)
    assert outcome is not None
    assert outcome.pending is not None
    _set(session, world, "floor_sen_years", 45)  # Raised meanwhile: at once.
    assert apply_due_changes(session, world.school.id, TODAY + timedelta(days=30)) == []
    assert session.get(RetentionRuleChange, outcome.pending.id).state == "cancelled"
    assert _events(session, "retention.rules_change_lapsed")
    assert _setting(session, world, "floor_sen_years") == 45


def test_the_words_for_each_change() -> None:
    assert describe_change({"kind": "setting", "key": "floor_sen_years", "value": 33}) == (
        "the floor for SEN records to 33 years from birth"
    )
    assert describe_change({"kind": "category", "path": "SEN", "rule": "dob+40y"}) == (
        "the rule for SEN to dob+40y"
    )


def test_the_command_line_follows_the_same_rules(
    rinstance: Instance, world: World, session: Session
) -> None:
    from click.testing import CliRunner
    from totp_kit import enrol_user, fresh_code

    from exchange.retention.cli import retention

    enrol_user(rinstance, world.dpo.user_id)
    obj = {
        "session_factory": rinstance.sessions,
        "school_id": world.school.id,
        "instance": rinstance,
    }

    def run(*args: str) -> object:
        code = fresh_code(rinstance, world.dpo.user_id)
        as_dpo = ["--user-id", str(world.dpo.user_id), "--code", code]
        return CliRunner().invoke(retention, ["settings", "set", *args, *as_dpo], obj=obj)

    raised = run("floor_sen_years", "40")
    assert raised.exit_code == 0, raised.output  # type: ignore[attr-defined]
    assert "floor_sen_years set; record dates recomputed" in raised.output  # type: ignore[attr-defined]
    lowered = run("floor_sen_years", "33")
    assert "This change makes records due earlier, so it waits" in lowered.output  # type: ignore[attr-defined]
    below = run("floor_child_protection_years", "20")
    assert below.exit_code != 0  # type: ignore[attr-defined]
    assert "cannot be below 25 years" in str(below.exception)  # type: ignore[attr-defined]
    assert _setting(session, world, "floor_sen_years") == 40
