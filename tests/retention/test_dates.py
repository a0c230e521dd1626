"""Record dates: unknown and corrected DOBs, rule changes, the forecast either side of cutoffs."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from exchange.audit.models import AuditEntry
from exchange.instance import Instance
from exchange.records.models import Incident, VaultDocument
from exchange.retention.assign import correct_date_of_birth
from exchange.retention.forecast import forecast
from exchange.retention.models import RetentionRuleSet
from exchange.retention.purge import preview, purge_school
from exchange.retention.rules import UNKNOWN_DOB_RULE
from exchange.retention.ruleset import current_rule_set
from tests.retention.support import (
    World,
    add_document,
    add_incident,
    add_pupil,
    date_all,
    set_category_rule,
    set_sender_copy,
)


def test_an_unknown_dob_keeps_everything_and_is_flagged_to_the_dpo(
    rinstance: Instance, world: World, session: Session
) -> None:
    child = add_pupil(session, world, None)
    incident = add_incident(session, world, child)
    date_all(session, world, child)
    session.commit()
    assert (incident.retain_until, incident.retention_rule) == (None, UNKNOWN_DOB_RULE)
    result = purge_school(
        rinstance.sessions,
        rinstance.blobs,
        rinstance.instance_key,
        world.school.id,
        now=datetime(2200, 1, 1, tzinfo=UTC),
    )
    assert result.totals.get("incidents", 0) == 0
    notice = forecast(session, world.school.id, rinstance.instance_key, date(2200, 1, 1), 30)
    assert notice.pupils == []
    assert [entry["pupil_id"] for entry in notice.unknown_dob] == [child.id]
    assert notice.unknown_dob[0]["records"] == 1
    assert notice.unknown_dob[0]["pupil_ref"].startswith("pref1_")


def test_a_corrected_dob_recomputes_the_dates_and_is_audited(
    world: World, session: Session
) -> None:
    child = add_pupil(session, world, date(2008, 5, 17))
    incident = add_incident(session, world, child)
    date_all(session, world, child)
    assert incident.retain_until == date(2033, 5, 17)
    changed = correct_date_of_birth(
        session, world.school.id, child.id, date(2008, 2, 29), world.dpo
    )
    assert changed == 1
    session.refresh(incident)
    assert incident.retain_until == date(2033, 3, 1)
    correct_date_of_birth(session, world.school.id, child.id, None, world.dpo)
    session.refresh(incident)
    assert incident.retain_until is None
    entry = session.scalars(
        select(AuditEntry).where(AuditEntry.event == "retention.dob_corrected")
    ).first()
    assert entry is not None
    assert b"2008" not in entry.canonical


def test_a_rule_change_is_a_new_audited_version_that_redates_records(
    rinstance: Instance, world: World, session: Session
) -> None:
    child = add_pupil(session, world, date(2008, 5, 17))
    sen = add_incident(session, world, child, ("SEN/EHCP review", "Bullying"))
    plan = add_document(session, rinstance, child, b"%PDF plan", incident=sen)
    loose = add_document(session, rinstance, child, b"%PDF letter")
    date_all(session, world, child)
    assert sen.retain_until == date(2039, 5, 17)  # The SEN floor: the 31st birthday.
    set_category_rule(session, world.school.id, "SEN", "dob+31y", world.dpo)
    set_category_rule(session, world.school.id, "default", "dob+26y", world.dsl)
    session.commit()
    for row in (sen, plan, loose):
        session.refresh(row)
    assert (sen.retain_until, sen.retention_rule) == (date(2039, 5, 17), "dob+31y")
    assert plan.retain_until == date(2039, 5, 17)
    assert (loose.retain_until, loose.retention_rule) == (date(2034, 5, 17), "dob+26y")
    versions = session.scalars(select(RetentionRuleSet.version)).all()
    assert sorted(versions) == [1, 2]
    assert current_rule_set(session, world.school.id).categories == {"SEN": "dob+31y"}
    events = session.scalars(
        select(AuditEntry.object_id).where(AuditEntry.event == "retention.rules_changed")
    ).all()
    assert events == ["1", "2"]
    set_category_rule(session, world.school.id, "SEN", "inherit", world.dpo)
    session.refresh(sen)
    assert (sen.retain_until, sen.retention_rule) == (date(2039, 5, 17), "dob+31y")  # Floor.


def test_the_forecast_and_dry_run_either_side_of_each_cutoff(
    rinstance: Instance, world: World, session: Session
) -> None:
    born_leap = add_pupil(session, world, date(2008, 2, 29))
    born_may = add_pupil(session, world, date(2008, 5, 17))
    add_incident(session, world, born_leap, ("Child Protection/Neglect",))
    add_incident(session, world, born_may, ("SEN",))
    add_document(session, rinstance, born_may, b"%PDF x", media_type="image/png")
    set_category_rule(session, world.school.id, "SEN", "dob+31y", world.dpo)
    session.commit()
    key, school = rinstance.instance_key, world.school.id

    def due(day: date) -> set[int]:
        return {n.pupil_id for n in preview(session, school, key, day).pupils}

    assert due(date(2033, 3, 1)) == set()
    assert due(date(2033, 3, 2)) == {born_leap.id}
    assert due(date(2033, 5, 17)) == {born_leap.id}
    assert due(date(2033, 5, 18)) == {born_leap.id, born_may.id}  # The unattached document.
    may = next(
        n
        for n in preview(session, school, key, date(2033, 5, 18)).pupils
        if n.pupil_id == born_may.id
    )
    assert (may.incidents, may.documents_by_type) == (0, {"image/png": 1})
    assert may.whole_file is False
    window = forecast(session, school, key, date(2039, 4, 18), 29).pupils
    assert next(n for n in window if n.pupil_id == born_may.id).incidents == 0
    last = forecast(session, school, key, date(2039, 4, 18), 31).to_dict()
    by_pupil = {p["pupil_id"]: p for p in last["pupils"]}
    assert by_pupil[born_may.id]["incidents_by_category"] == {"SEN": 1}
    assert by_pupil[born_may.id]["first_due"] == "2039-04-18"
    assert last["totals"]["incidents"] == 2
    assert "forename" not in str(last)


def test_the_sender_copy_setting_is_versioned(world: World, session: Session) -> None:
    set_sender_copy(session, world.school.id, "30", world.dpo)
    assert current_rule_set(session, world.school.id).sender_copy_days == 30
    set_sender_copy(session, world.school.id, "keep", world.dpo)
    assert current_rule_set(session, world.school.id).sender_copy_days is None
    assert session.scalars(select(Incident)).all() == []
    assert session.scalars(select(VaultDocument)).all() == []
