"""Legal holds at each level stop the purge; only a DPO releases them; all of it is audited."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from exchange.audit.models import AuditEntry
from exchange.errors import NotFound, ValidationError
from exchange.instance import Instance
from exchange.records.models import Incident
from exchange.retention.errors import RetentionForbidden
from exchange.retention.forecast import forecast, hold_from_forecast
from exchange.retention.holds import list_holds, place_hold, release_hold
from exchange.retention.purge import purge_school
from tests.retention.support import World, add_incident, add_pupil, date_all

DUE_DAY = datetime(2026, 1, 2, 12, tzinfo=UTC)


def _purge(instance: Instance, world: World) -> dict[str, int]:
    return purge_school(
        instance.sessions, instance.blobs, instance.instance_key, world.school.id, now=DUE_DAY
    ).totals


def _remaining(session: Session) -> set[int]:
    session.expire_all()
    return set(session.scalars(select(Incident.id)))


@pytest.fixture
def records(session: Session, world: World) -> dict[str, int]:
    """Two due pupils: one with abuse, neglect and bullying incidents, one with bullying."""
    first = add_pupil(session, world, date(2000, 1, 1))
    second = add_pupil(session, world, date(2000, 1, 1))
    ids = {
        "first": first.id,
        "second": second.id,
        "abuse": add_incident(session, world, first, ("Child Protection/Sexual abuse",)).id,
        "neglect": add_incident(session, world, first, ("Child Protection/Neglect",)).id,
        "bullying": add_incident(session, world, first, ("Bullying",)).id,
        "other": add_incident(session, world, second, ("Bullying",)).id,
    }
    date_all(session, world, first, second)
    session.commit()
    return ids


def test_a_pupil_hold_keeps_everything_of_that_pupil(
    rinstance: Instance, world: World, session: Session, records: dict[str, int]
) -> None:
    place_hold(session, world.school.id, "pupil", records["first"], "Claim notified", world.dsl)
    session.commit()
    _purge(rinstance, world)
    assert _remaining(session) == {records["abuse"], records["neglect"], records["bullying"]}


def test_an_incident_hold_keeps_only_that_incident(
    rinstance: Instance, world: World, session: Session, records: dict[str, int]
) -> None:
    place_hold(session, world.school.id, "incident", records["neglect"], "Police", world.dpo)
    session.commit()
    totals = _purge(rinstance, world)
    assert _remaining(session) == {records["neglect"]}
    assert totals["pupils_removed"] == 1


def test_a_category_hold_covers_its_subcategories_only(
    rinstance: Instance, world: World, session: Session, records: dict[str, int]
) -> None:
    place_hold(session, world.school.id, "category", "Child Protection", "Inquiry", world.dpo)
    session.commit()
    _purge(rinstance, world)
    assert _remaining(session) == {records["abuse"], records["neglect"]}


def test_a_subcategory_hold_does_not_cover_its_siblings(
    rinstance: Instance, world: World, session: Session, records: dict[str, int]
) -> None:
    place_hold(
        session, world.school.id, "category", "Child Protection/Sexual abuse", "IICSA", world.dpo
    )
    session.commit()
    _purge(rinstance, world)
    assert _remaining(session) == {records["abuse"]}


def test_only_a_dpo_releases_a_hold_and_then_the_purge_proceeds(
    rinstance: Instance, world: World, session: Session, records: dict[str, int]
) -> None:
    hold = place_hold(session, world.school.id, "pupil", records["second"], "Claim", world.dsl)
    session.commit()
    with pytest.raises(RetentionForbidden):
        release_hold(session, world.school.id, hold.id, "Settled", world.dsl)
    with pytest.raises(ValidationError):
        release_hold(session, world.school.id, hold.id, "   ", world.dpo)
    _purge(rinstance, world)
    assert _remaining(session) == {records["other"]}
    release_hold(session, world.school.id, hold.id, "Claim settled", world.dpo)
    session.commit()
    assert list_holds(session, world.school.id) == []
    assert len(list_holds(session, world.school.id, include_released=True)) == 1
    _purge(rinstance, world)
    assert _remaining(session) == set()
    events = session.scalars(select(AuditEntry.event).order_by(AuditEntry.seq)).all()
    assert "retention.hold_placed" in events
    assert "retention.hold_released" in events
    assert events.count("retention.disposal_certified") == 2


def test_holds_need_a_reason_and_a_real_target(
    session: Session, world: World, records: dict[str, int]
) -> None:
    with pytest.raises(ValidationError):
        place_hold(session, world.school.id, "pupil", records["first"], " ", world.dpo)
    with pytest.raises(NotFound):
        place_hold(session, world.school.id, "incident", 999_999, "Claim", world.dpo)
    with pytest.raises(NotFound):
        place_hold(session, world.school.id, "category", "No such", "Claim", world.dpo)
    with pytest.raises(ValidationError):
        place_hold(session, world.school.id, "school", "1", "Claim", world.dpo)


def test_the_dpo_places_a_hold_from_the_forecast(
    rinstance: Instance, world: World, session: Session, records: dict[str, int]
) -> None:
    notice = forecast(session, world.school.id, rinstance.instance_key, date(2025, 12, 20), 30)
    assert {n.pupil_id for n in notice.pupils} == {records["first"], records["second"]}
    line = next(n for n in notice.pupils if n.pupil_id == records["second"])
    hold_from_forecast(session, world.school.id, line, "Subject access request open", world.dpo)
    session.commit()
    again = forecast(session, world.school.id, rinstance.instance_key, date(2025, 12, 20), 30)
    assert next(n for n in again.pupils if n.pupil_id == records["second"]).held == 1
    _purge(rinstance, world)
    assert _remaining(session) == {records["other"]}
