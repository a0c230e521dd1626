"""An open subject access request holds the child's file: the purge skips it and says why."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from exchange.instance import Instance
from exchange.records.models import Incident, Pupil, School, User
from exchange.retention.cli import purge_command
from exchange.retention.forecast import forecast
from exchange.retention.holds import OPEN_REQUEST, active_holds
from exchange.retention.purge import purge_school
from exchange.subject_access import service
from exchange.subject_access.models import SubjectAccessRequest
from exchange.subject_access.steps import STATES
from exchange.transfers.actors import Actor
from tests.retention.support import World, add_incident, add_pupil, date_all

DUE_DAY = datetime(2026, 1, 2, 12, tzinfo=UTC)


@pytest.fixture
def records(session: Session, world: World) -> dict[str, int]:
    """Two pupils whose records are all due: the first is the subject of a request."""
    first = add_pupil(session, world, date(2000, 1, 1))
    second = add_pupil(session, world, date(2000, 1, 1))
    ids = {
        "first": first.id,
        "second": second.id,
        "asked": add_incident(session, world, first, ("Bullying",)).id,
        "other": add_incident(session, world, second, ("Bullying",)).id,
    }
    date_all(session, world, first, second)
    session.commit()
    return ids


def _request(session: Session, world: World, pupil_id: int) -> SubjectAccessRequest:
    request = service.log_request(
        session,
        session.get(School, world.school.id),
        Actor.of(session.get(User, world.dsl.user_id)),
        session.get(Pupil, pupil_id),
        requester_name="Generated Requester",
        relationship="self",
        received_on=date(2025, 12, 1),
        identity_check="Known to staff",
        today=date(2025, 12, 2),
    )
    session.commit()
    return request


def _purge(instance: Instance, world: World) -> None:
    purge_school(
        instance.sessions, instance.blobs, instance.instance_key, world.school.id, now=DUE_DAY
    )


def _remaining(session: Session) -> set[int]:
    session.expire_all()
    return set(session.scalars(select(Incident.id)))


def test_an_open_request_holds_the_file_until_it_is_refused(
    rinstance: Instance, world: World, session: Session, records: dict[str, int]
) -> None:
    request = _request(session, world, records["first"])
    notice = forecast(session, world.school.id, rinstance.instance_key, date(2026, 1, 2), 0)
    lines = {line.pupil_id: line for line in notice.pupils}
    assert lines[records["first"]].held == 1
    assert lines[records["first"]].hold_reasons == {OPEN_REQUEST}
    assert lines[records["second"]].held == 0
    as_json = {line["pupil_id"]: line for line in notice.to_dict()["pupils"]}
    assert as_json[records["first"]]["hold_reasons"] == [OPEN_REQUEST]
    assert as_json[records["second"]]["hold_reasons"] == []
    _purge(rinstance, world)
    assert _remaining(session) == {records["asked"]}

    service.refuse(
        session, request, Actor.of(session.get(User, world.dpo.user_id)), "Manifestly excessive"
    )
    session.commit()
    _purge(rinstance, world)
    assert _remaining(session) == set()


def test_the_dry_run_names_the_open_request_as_the_reason(
    rinstance: Instance, world: World, session: Session, records: dict[str, int]
) -> None:
    _request(session, world, records["first"])
    rinstance.config["PURGE_VOLUME_GUARD_PERCENT"] = 100
    obj: dict[str, Any] = {
        "session_factory": rinstance.sessions,
        "school_id": world.school.id,
        "instance": rinstance,
    }
    dry = CliRunner().invoke(purge_command, ["--as-of", "2026-01-02"], obj=obj)
    assert dry.exit_code == 0, dry.output
    line = next(row for row in dry.output.splitlines() if f"pupil {records['first']} " in row)
    assert "1 held (open subject access request)" in line
    other = next(row for row in dry.output.splitlines() if f"pupil {records['second']} " in row)
    assert "held" not in other


@pytest.mark.parametrize("state", STATES)
def test_every_state_but_closed_and_refused_holds(
    world: World, session: Session, records: dict[str, int], state: str
) -> None:
    request = _request(session, world, records["first"])
    session.execute(
        update(SubjectAccessRequest)
        .where(SubjectAccessRequest.id == request.id)
        .values(state=state)
    )
    session.commit()
    held = active_holds(session, world.school.id).requested_pupil_ids
    assert (records["first"] in held) is (state not in ("closed", "refused"))
    assert records["second"] not in held


def test_a_closed_request_lets_the_purge_destroy_what_is_due(
    rinstance: Instance, world: World, session: Session, records: dict[str, int]
) -> None:
    request = _request(session, world, records["first"])
    session.execute(
        update(SubjectAccessRequest)
        .where(SubjectAccessRequest.id == request.id)
        .values(state="closed")
    )
    session.commit()
    notice = forecast(session, world.school.id, rinstance.instance_key, date(2026, 1, 2), 0)
    assert all(line.held == 0 for line in notice.pupils)
    _purge(rinstance, world)
    assert _remaining(session) == set()


def test_the_review_list_gives_the_reason(
    rinstance: Instance, world: World, session: Session, records: dict[str, int]
) -> None:
    from exchange.retention.cli_safety import review_group

    _request(session, world, records["first"])
    obj: dict[str, Any] = {
        "session_factory": rinstance.sessions,
        "school_id": world.school.id,
        "instance": rinstance,
    }
    shown = CliRunner().invoke(review_group, ["list"], obj=obj)
    assert shown.exit_code == 0, shown.output
    line = next(row for row in shown.output.splitlines() if f"pupil {records['first']} " in row)
    assert "1 held (open subject access request)" in line
    other = next(row for row in shown.output.splitlines() if f"pupil {records['second']} " in row)
    assert "0 held:" in other
