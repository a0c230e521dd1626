"""CLI steps taken as a person need that person's current code: checked as the web checks it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from totp_kit import enrol, fresh_code
from transfer_kit import child_with_records, school_with_keys

from exchange.audit.models import AuditEntry
from exchange.auth.security import security_of
from exchange.auth.signin import MAX_FAILURES
from exchange.cli import main
from exchange.cli_second_factor import CONFIRMED_EVENT, REFUSED_EVENT
from exchange.db import transaction
from exchange.instance import Instance
from exchange.partners.service import enrol_partner, own_card
from exchange.records.models import School, User
from exchange.records.schools import add_user
from exchange.transfers.models import Transfer

DSL = "dsl1@example.org"


@pytest.fixture
def upn(instance: Instance) -> str:
    """Return the UPN of a leaving child at a school with a partner, a DSL and a deputy."""
    with transaction(instance.sessions) as session:
        sender = school_with_keys(session, instance, 1, "bretherton")
        receiver = school_with_keys(session, instance, 2, "holy_trinity")
        enrol_partner(session, sender.id, own_card(session, receiver, None))
        subject, _ = child_with_records(session, instance, sender)
        add_user(session, session.get(School, sender.id), "deputy_dsl", "Dep", "dep@example.org")
        return subject.upn


def run(cli_env: dict[str, str], *args: str, stdin: str | None = None) -> tuple[int, str]:
    """Run `exchange --school 990101 ARGS` and return the exit status and the output."""
    result = CliRunner().invoke(main, ["--school", "990101", *args], env=cli_env, input=stdin)
    return result.exit_code, result.output


def create(upn: str, *acting: str) -> list[str]:
    """Return the arguments of `transfers create` for the child, acting as given."""
    return ["transfers", "create", "--upn", upn, "--to", "990102", *acting]


def audit(instance: Instance, event: str) -> list[dict[str, Any]]:
    """Return the audit entries of this event, parsed."""
    with instance.sessions() as session:
        rows = session.scalars(select(AuditEntry.canonical).where(AuditEntry.event == event))
        return [json.loads(row) for row in rows]


def transfers(instance: Instance) -> int:
    """Return how many transfers exist."""
    with instance.sessions() as session:
        return len(session.scalars(select(Transfer.id)).all())


def test_a_step_without_the_persons_code_is_refused_audited_and_changes_nothing(
    instance: Instance, cli_env: dict[str, str], upn: str
) -> None:
    user_id = enrol(instance, DSL)
    code, output = run(cli_env, *create(upn, "--as", DSL))
    assert code == 1
    assert "error: no code given" in output
    assert "nothing was done" in output
    code, output = run(cli_env, *create(upn, "--as", DSL, "--code", "12345x"))
    assert code == 1
    assert "that code is wrong, expired or already used" in output
    assert transfers(instance) == 0
    refusals = audit(instance, REFUSED_EVENT)
    assert [entry["actor"] for entry in refusals] == [{"user": str(user_id), "role": "dsl"}] * 2
    assert refusals[0]["details"]["reason"].startswith("transfers create: no code given")
    assert DSL not in json.dumps(refusals)
    with instance.sessions() as session:
        assert security_of(session, session.get(User, user_id)).failed_logins == 1


def test_a_piped_code_confirms_the_person_and_is_audited(
    instance: Instance, cli_env: dict[str, str], upn: str
) -> None:
    user_id = enrol(instance, DSL)
    code, output = run(cli_env, *create(upn, "--as", DSL), stdin=fresh_code(instance, user_id))
    assert code == 0, output
    assert transfers(instance) == 1
    (confirmed,) = audit(instance, CONFIRMED_EVENT)
    assert confirmed["actor"] == {"user": str(user_id), "role": "dsl"}
    assert confirmed["details"] == {"via": "cli", "command": "transfers create"}


def test_a_used_code_cannot_be_replayed(
    instance: Instance, cli_env: dict[str, str], upn: str
) -> None:
    user_id = enrol(instance, DSL)
    totp = fresh_code(instance, user_id)
    assert run(cli_env, *create(upn, "--as", DSL, "--code", totp))[0] == 0
    code, output = run(cli_env, *create(upn, "--as", DSL, "--code", totp))
    assert code == 1
    assert "already used" in output
    assert transfers(instance) == 1


def test_wrong_codes_lock_the_person_out_as_on_the_web(
    instance: Instance, cli_env: dict[str, str], upn: str
) -> None:
    user_id = enrol(instance, DSL)
    for _ in range(MAX_FAILURES):
        code, output = run(cli_env, *create(upn, "--as", DSL, "--code", "000000"))
        assert code == 1
    assert "too many wrong codes" in output
    code, output = run(cli_env, *create(upn, "--as", DSL, "--code", fresh_code(instance, user_id)))
    assert code == 1
    assert "locked out for 15 minutes" in output
    assert transfers(instance) == 0


def test_a_person_without_a_second_factor_is_told_to_set_one_up(
    instance: Instance, cli_env: dict[str, str], upn: str
) -> None:
    code, output = run(cli_env, *create(upn, "--as", "dep@example.org", "--code", "123456"))
    assert code == 1
    assert "no second factor set up" in output
    assert transfers(instance) == 0


def test_an_unknown_person_is_a_usage_error_before_any_code(
    instance: Instance, cli_env: dict[str, str], upn: str
) -> None:
    code, output = run(cli_env, *create(upn, "--as", "nobody@example.org"))
    assert code == 2
    assert "no active user 'nobody@example.org' at this school" in output
    assert audit(instance, REFUSED_EVENT) == []


def test_operator_commands_need_no_person_and_are_audited_as_the_operator(
    instance: Instance, cli_env: dict[str, str], upn: str
) -> None:
    code, output = run(cli_env, "keys", "rotate", "--kind", "signing")
    assert code == 0, output
    (rotated,) = audit(instance, "keys.rotated")
    assert rotated["actor"] == {"user": None, "role": "operator"}
    assert audit(instance, REFUSED_EVENT) == []
