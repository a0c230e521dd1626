"""The retention, purge and holds commands on a test instance."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from totp_kit import enrol_user, fresh_code

from exchange.cli_second_factor import SecondFactorRefused
from exchange.instance import Instance
from exchange.records.models import Incident
from exchange.retention.cli import holds, purge_command, retention
from exchange.retention.models import LegalHold
from exchange.retention.rules import london_today
from tests.retention.support import World, add_incident, add_pupil, date_all


@pytest.fixture
def obj(rinstance: Instance, world: World) -> dict[str, Any]:
    """Return the ctx.obj the commands expect."""
    rinstance.config["PURGE_VOLUME_GUARD_PERCENT"] = 100  # A few records: most are due.
    return {
        "session_factory": rinstance.sessions,
        "school_id": world.school.id,
        "instance": rinstance,
    }


def _run(command: Any, args: list[str], obj: dict[str, Any]) -> Result:
    return CliRunner().invoke(command, args, obj=obj, catch_exceptions=False)


def _incidents(session: Session) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(Incident)) or 0


def test_forecast_dry_run_hold_and_purge_from_the_command_line(
    obj: dict[str, Any], world: World, session: Session, tmp_path: Path, rinstance: Instance
) -> None:
    child = add_pupil(session, world, date(1990, 1, 1))
    add_incident(session, world, child, ("Child Protection/Neglect",))
    date_all(session, world, child)
    session.commit()

    shown = _run(retention, ["forecast", "--days", "10", "--json"], obj)
    data = json.loads(shown.output)
    assert data["totals"]["incidents"] == 1
    assert child.surname not in shown.output
    dry = _run(purge_command, ["--as-of", "2015-01-02"], obj)
    assert "Dry run: a purge on 2015-01-02" in dry.output
    assert "1 incidents" in dry.output
    assert _incidents(session) == 1

    refused = CliRunner().invoke(holds, ["add", "--pupil", str(child.id), "--reason", "x"], obj=obj)
    assert refused.exit_code != 0
    enrol_user(rinstance, world.dsl.user_id)
    enrol_user(rinstance, world.dpo.user_id)
    as_dsl = [
        "--user-id",
        str(world.dsl.user_id),
        "--code",
        fresh_code(rinstance, world.dsl.user_id),
    ]
    added = _run(holds, ["add", "--pupil", str(child.id), "--reason", "Claim", *as_dsl], obj)
    assert "placed on pupil" in added.output
    assert "Claim" in _run(holds, ["list"], obj).output
    _run(purge_command, [], obj)
    assert _incidents(session) == 1

    hold_id = session.scalars(select(LegalHold.id)).one()
    release = ["release", str(hold_id), "--reason", "Settled", "--user-id", str(world.dpo.user_id)]
    assert (
        _run(holds, [*release, "--code", fresh_code(rinstance, world.dpo.user_id)], obj).exit_code
        == 0
    )
    purged = _run(purge_command, ["--json"], obj)
    outcome = json.loads(purged.output)
    assert outcome["as_of"] == london_today().isoformat()
    assert outcome["totals"]["incidents"] == 1
    assert _incidents(session) == 0

    certificate = str(outcome["certificates"][0])
    pdf = tmp_path / "certificate.pdf"
    shown = _run(retention, ["certificates", "show", certificate, "--pdf", str(pdf)], obj)
    assert "signature: valid" in shown.output
    assert pdf.read_bytes().startswith(b"%PDF")
    assert certificate in _run(retention, ["certificates", "list"], obj).output


def test_rules_from_the_command_line(
    obj: dict[str, Any], world: World, rinstance: Instance
) -> None:
    enrol_user(rinstance, world.dpo.user_id)
    enrol_user(rinstance, world.dsl.user_id)

    def as_user(actor: Any) -> list[str]:
        return ["--user-id", str(actor.user_id), "--code", fresh_code(rinstance, actor.user_id)]

    longer = _run(retention, ["rules", "set", "SEN", "dob+35y", *as_user(world.dsl)], obj)
    assert "version 1 saved" in longer.output
    shorter = CliRunner().invoke(
        retention, ["rules", "sender-copy", "30", *as_user(world.dsl)], obj=obj
    )
    assert shorter.exit_code != 0
    assert "Only the DPO can shorten retention" in str(shorter.exception)
    waiting = _run(retention, ["rules", "sender-copy", "30", *as_user(world.dpo)], obj)
    assert "takes effect on" in waiting.output
    shown = json.loads(_run(retention, ["rules", "show"], obj).output)
    assert shown["version"] == 1
    assert shown["categories"] == {"SEN": "dob+35y"}
    assert shown["sender_copy"] == "keep"
    assert "sender_copy" in _run(retention, ["rules", "pending"], obj).output
    below = CliRunner().invoke(
        retention, ["rules", "set", "default", "dob+2y", *as_user(world.dpo)], obj=obj
    )
    assert below.exit_code != 0
    assert "at least the pupil's 25th birthday" in str(below.exception)
    bad = CliRunner().invoke(
        retention, ["rules", "set", "SEN", "forever", *as_user(world.dpo)], obj=obj
    )
    assert bad.exit_code != 0


def test_a_hold_needs_the_acting_users_current_code(
    obj: dict[str, Any], world: World, session: Session, rinstance: Instance
) -> None:
    child = add_pupil(session, world, date(1990, 1, 1))
    session.commit()
    enrol_user(rinstance, world.dsl.user_id)
    add = ["add", "--pupil", str(child.id), "--reason", "Claim"]
    as_dsl = ["--user-id", str(world.dsl.user_id)]
    for extra, words in (
        ([], "no code given"),
        (["--code", "000000"], "that code is wrong, expired or already used"),
    ):
        refused = CliRunner().invoke(holds, [*add, *as_dsl, *extra], obj=obj)
        assert isinstance(refused.exception, SecondFactorRefused)
        assert words in str(refused.exception)
    alone = CliRunner().invoke(holds, [*add, "--code", "123456"], obj=obj)
    assert alone.exit_code == 2
    assert "name them too" in alone.output
    assert session.scalar(select(func.count()).select_from(LegalHold)) == 0
    piped = CliRunner().invoke(
        holds, [*add, *as_dsl], obj=obj, input=fresh_code(rinstance, world.dsl.user_id) + "\n"
    )
    assert piped.exit_code == 0, piped.output
    assert session.scalar(select(func.count()).select_from(LegalHold)) == 1


def test_review_approve_and_the_volume_guard_from_the_command_line(
    obj: dict[str, Any], world: World, session: Session, rinstance: Instance
) -> None:
    from tests.retention.support import set_automatic

    set_automatic(session, world.school, False)
    child = add_pupil(session, world, date(1990, 1, 1))
    add_incident(session, world, child, ("Bullying",))
    date_all(session, world, child)
    session.commit()
    enrol_user(rinstance, world.dpo.user_id)
    rinstance.config["PURGE_VOLUME_GUARD_PERCENT"] = 10
    assert "not reviewed" in _run(retention, ["review", "list"], obj).output
    stopped = CliRunner().invoke(purge_command, [], obj=obj)
    assert _incidents(session) == 1  # Not approved: the guard counts nothing; nothing goes.
    assert stopped.exit_code == 0
    code = fresh_code(rinstance, world.dpo.user_id)
    as_dpo = ["--user-id", str(world.dpo.user_id), "--code", code]
    _run(retention, ["review", "approve", str(child.id), *as_dpo], obj)
    guarded = CliRunner().invoke(purge_command, [], obj=obj)
    assert guarded.exit_code != 0
    assert "stopped before destroying anything" in guarded.output
    assert _incidents(session) == 1
    as_dpo = [
        "--user-id",
        str(world.dpo.user_id),
        "--code",
        fresh_code(rinstance, world.dpo.user_id),
    ]
    _run(purge_command, ["--allow-large", *as_dpo], obj)
    assert _incidents(session) == 0
