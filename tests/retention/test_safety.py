"""Retention safety: the floors, the notice period, the disposition review, the volume guard."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from exchange.audit.models import AuditEntry
from exchange.errors import ValidationError
from exchange.instance import Instance
from exchange.packaging.keys import all_public_keys, public_key_of
from exchange.records.models import Incident
from exchange.retention.actors import Actor
from exchange.retention.certificate import verify_certificate
from exchange.retention.changes import apply_due_changes, cancel_change, request_change
from exchange.retention.errors import BelowFloor, RetentionForbidden
from exchange.retention.models import DisposalCertificate, LegalHold, RetentionRuleChange
from exchange.retention.purge import PurgeResult, purge_school
from exchange.retention.review import decide
from exchange.retention.ruleset import category_change, current_rule_set, sender_copy_change
from exchange.retention.settings import checked_change
from tests.retention.support import World, add_incident, add_pupil, date_all, set_automatic

TODAY = date(2026, 3, 1)
BORN = date(2001, 3, 1)  # 25th birthday 2026-03-01; 31st 2032-03-01.


def _change(session: Session, world: World, change: dict, actor: Actor, fresh: bool = True):  # type: ignore[no-untyped-def, type-arg]
    return request_change(
        session, world.school.id, change, actor, fresh_second_factor=fresh, today=TODAY
    )


def _purge(instance: Instance, world: World, day: date, **options: object) -> PurgeResult:
    moment = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
    return purge_school(
        instance.sessions,
        instance.blobs,
        instance.instance_key,
        world.school.id,
        now=moment,
        **options,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(("years", "allowed"), [(24, False), (25, True), (26, True)])
def test_the_default_rule_cannot_go_below_the_25th_birthday(
    session: Session, world: World, years: int, allowed: bool
) -> None:
    change = category_change("default", f"dob+{years}y")
    if allowed:
        _change(session, world, change, world.dpo)
        return
    with pytest.raises(BelowFloor, match="at least the pupil's 25th birthday"):
        _change(session, world, change, world.dpo)


@pytest.mark.parametrize(("years", "allowed"), [(30, False), (31, True), (32, True)])
def test_a_sen_rule_cannot_go_below_the_31st_birthday(
    session: Session, world: World, years: int, allowed: bool
) -> None:
    change = category_change("SEN/EHCP review", f"dob+{years}y")
    if allowed:
        _change(session, world, change, world.dpo)
        return
    with pytest.raises(BelowFloor, match=r"31st birthday.*SEN"):
        _change(session, world, change, world.dpo)


def test_a_stored_rule_below_the_floor_still_keeps_records_to_it(
    session: Session, world: World
) -> None:
    from dataclasses import replace

    rules = replace(current_rule_set(session, world.school.id), default="dob+2y")
    assert rules.rule_for_paths(["Bullying"]) == "dob+25y"
    assert rules.rule_for_paths(["SEN/EHCP review"]) == "dob+31y"
    assert rules.rule_for_paths([]) == "dob+25y"


def test_floors_are_never_below_the_statutory_ones() -> None:
    # Lowering a raised floor, or removing an SEN category, is a shortening: see
    # tests/retention/test_floor_settings.py.
    assert checked_change("floor_sen_years", 35) == 35
    with pytest.raises(ValidationError, match="cannot be below 25 years"):
        checked_change("floor_child_protection_years", 24)
    assert checked_change("sen_categories", [" SEN ", "sen", "Medical"]) == ["SEN", "Medical"]


def test_lengthening_takes_effect_at_once_for_a_dsl(session: Session, world: World) -> None:
    outcome = _change(session, world, category_change("Bullying", "dob+30y"), world.dsl, False)
    assert outcome.saved is not None
    assert outcome.pending is None
    assert current_rule_set(session, world.school.id).categories == {"Bullying": "dob+30y"}


def test_shortening_needs_the_dpo_with_a_fresh_second_factor(
    session: Session, world: World
) -> None:
    _change(session, world, category_change("Bullying", "dob+30y"), world.dsl)
    shorter = category_change("Bullying", "inherit")
    with pytest.raises(RetentionForbidden, match="Only the DPO"):
        _change(session, world, shorter, world.dsl)
    with pytest.raises(RetentionForbidden, match="second factor"):
        _change(session, world, shorter, world.dpo, fresh=False)
    outcome = _change(session, world, shorter, world.dpo)
    assert outcome.pending is not None
    assert current_rule_set(session, world.school.id).categories == {"Bullying": "dob+30y"}


def test_a_shortening_waits_the_notice_period_to_the_day(
    session: Session, world: World, rinstance: Instance
) -> None:
    child = add_pupil(session, world, date(1995, 6, 1))  # 30th birthday 2025-06-01.
    add_incident(session, world, child, ("Bullying",))
    _change(session, world, category_change("Bullying", "dob+35y"), world.dsl)
    date_all(session, world, child)
    pending = _change(session, world, category_change("Bullying", "inherit"), world.dpo).pending
    assert pending is not None
    assert pending.effective_on == TODAY + timedelta(days=30)
    assert pending.notice["incidents"] == 1
    assert pending.notice["pupils"] == 1
    assert child.surname not in str(pending.notice)
    session.commit()
    assert _purge(rinstance, world, TODAY + timedelta(days=29)).totals.get("incidents", 0) == 0
    assert session.get(RetentionRuleChange, pending.id).state == "pending"
    result = _purge(rinstance, world, TODAY + timedelta(days=30))
    session.expire_all()
    assert session.get(RetentionRuleChange, pending.id).state == "applied"
    assert result.totals["incidents"] == 1


def test_a_waiting_change_can_be_cancelled_by_the_dpo(session: Session, world: World) -> None:
    pending = _change(session, world, sender_copy_change(30), world.dpo).pending
    assert pending is not None
    with pytest.raises(RetentionForbidden):
        cancel_change(session, world.school.id, pending.id, world.dsl)
    cancel_change(session, world.school.id, pending.id, world.dpo)
    assert apply_due_changes(session, world.school.id, TODAY + timedelta(days=60)) == []
    assert current_rule_set(session, world.school.id).sender_copy_days is None


def test_the_shortening_notice_is_emailed_to_every_dsl_and_dpo(
    session: Session, world: World, rinstance: Instance
) -> None:
    from exchange.retention import notify

    sent: list[tuple[list[str], str]] = []
    _change(session, world, sender_copy_change(30), world.dpo)
    session.commit()
    original = notify.send

    def fake_send(_config: object, to: list[str], _subject: str, body: str) -> int:
        sent.append((to, body))
        return len(to)

    notify.send = fake_send  # type: ignore[assignment]
    try:
        assert notify.send_change_notices(rinstance.sessions, rinstance.config) == 1
        assert notify.send_change_notices(rinstance.sessions, rinstance.config) == 0
    finally:
        notify.send = original  # type: ignore[assignment]
    ((to, body),) = sent
    assert sorted(to) == ["dpo1@school1.example", "dsl1@school1.example"]
    assert "incidents: 0" in body


def _due_child(session: Session, world: World) -> tuple[int, int]:
    child = add_pupil(session, world, BORN)
    incident = add_incident(session, world, child, ("Bullying",))
    date_all(session, world, child)
    session.commit()
    return child.id, incident.id


def test_without_a_review_nothing_is_destroyed(
    session: Session, world: World, rinstance: Instance
) -> None:
    set_automatic(session, world.school, False)
    _due_child(session, world)
    assert _purge(rinstance, world, TODAY + timedelta(days=1)).totals.get("incidents", 0) == 0


@pytest.mark.parametrize(("purge_day", "destroyed"), [(0, 0), (1, 1), (2, 1)])
def test_the_purge_destroys_what_the_dpo_approved_once_it_is_due(
    session: Session, world: World, rinstance: Instance, purge_day: int, destroyed: int
) -> None:
    set_automatic(session, world.school, False)
    pupil_id, incident_id = _due_child(session, world)
    with pytest.raises(RetentionForbidden):
        decide(
            session,
            world.school.id,
            rinstance.instance_key,
            pupil_id,
            "destroy",
            world.dsl,
            today=TODAY,
        )
    session.rollback()
    review = decide(
        session,
        world.school.id,
        rinstance.instance_key,
        pupil_id,
        "destroy",
        world.dpo,
        today=TODAY,
        days=5,
    )
    session.commit()
    result = _purge(rinstance, world, TODAY + timedelta(days=purge_day))
    assert result.totals.get("incidents", 0) == destroyed
    if destroyed:
        session.expire_all()
        assert session.get(Incident, incident_id) is None
        certificate = session.get(DisposalCertificate, result.certificate_ids[0])
        keys = [public_key_of(k) for k in all_public_keys(session, world.school.id, "signing")]
        payload = verify_certificate(certificate.jws, keys)
        assert payload["disposition"]["mode"] == "review"
        (entry,) = payload["disposition"]["reviews"]
        assert entry["review"] == review.id
        assert entry["approved_by"]["user_id"] == world.dpo.user_id


def test_a_hold_instead_keeps_the_pupil(
    session: Session, world: World, rinstance: Instance
) -> None:
    set_automatic(session, world.school, False)
    pupil_id, incident_id = _due_child(session, world)
    decide(
        session,
        world.school.id,
        rinstance.instance_key,
        pupil_id,
        "hold",
        world.dpo,
        today=TODAY,
        reason="Inquiry",
    )
    session.commit()
    assert session.scalars(select(LegalHold.pupil_id)).all() == [pupil_id]
    assert _purge(rinstance, world, TODAY + timedelta(days=3)).totals.get("incidents", 0) == 0
    assert session.get(Incident, incident_id) is not None


@pytest.mark.parametrize(("due", "stops"), [(1, False), (2, True)])
def test_the_volume_guard_stops_a_purge_above_its_share(
    session: Session, world: World, rinstance: Instance, due: int, stops: bool
) -> None:
    young = add_pupil(session, world, date(2015, 1, 1))
    for _ in range(8):
        add_incident(session, world, young, ("Bullying",))
    old = add_pupil(session, world, BORN)
    for _ in range(due):
        add_incident(session, world, old, ("Bullying",))
    date_all(session, world, young)
    date_all(session, world, old)
    session.commit()
    # 1 of 9 records is 11% (over 10%); the guard is checked as 100 * due > percent * total.
    result = _purge(rinstance, world, TODAY + timedelta(days=1), volume_guard_percent=12)
    assert (result.stopped is not None) is stops
    if stops:
        assert result.stopped == {"would_destroy": 2, "records": 10, "percent": 12}
        assert result.run_ids == []
        events = session.scalars(
            select(AuditEntry.event).where(AuditEntry.event == "retention.purge_stopped")
        ).all()
        assert events == ["retention.purge_stopped"]
    else:
        assert result.totals["incidents"] == 1
