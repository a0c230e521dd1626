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


def test_rules_from_the_command_line(obj: dict[str, Any], world: World) -> None:
    user = str(world.dpo.user_id)
    _run(retention, ["rules", "set", "SEN", "dob+31y", "--user-id", user], obj)
    _run(retention, ["rules", "sender-copy", "30", "--user-id", user], obj)
    shown = json.loads(_run(retention, ["rules", "show"], obj).output)
    assert shown["version"] == 2
    assert shown["categories"] == {"SEN": "dob+31y"}
    assert shown["sender_copy"] == {"destroy_after_days": 30}
    bad = CliRunner().invoke(
        retention, ["rules", "set", "SEN", "forever", "--user-id", user], obj=obj
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
