"""The transfer commands, end to end on the offline route, as an operator would type them."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from totp_kit import acting, enrol
from transfer_kit import child_with_records, school_with_keys

from exchange.cli import main
from exchange.db import transaction
from exchange.instance import Instance
from exchange.partners.service import enrol_partner, own_card

SEVEN_ZIP = shutil.which("7zz") or shutil.which("7z")


@pytest.mark.skipif(
    SEVEN_ZIP is None, reason="7-Zip is not installed (scripts/setup.sh installs it)"
)
def test_an_offline_transfer_through_the_commands(
    instance: Instance, cli_env: dict[str, str], tmp_path: Path
) -> None:
    with transaction(instance.sessions) as session:
        sender = school_with_keys(session, instance, 1, "bretherton")
        receiver = school_with_keys(session, instance, 2, "holy_trinity")
        enrol_partner(session, sender.id, own_card(session, receiver, None))
        subject, _ = child_with_records(session, instance, sender)
        upn = subject.upn
    enrol(instance, "dsl1@example.org")
    runner = CliRunner()

    def as_dsl() -> list[str]:
        return acting(instance, "dsl1@example.org")

    def run(*args: str) -> str:
        result = runner.invoke(
            main, ["--school", "990101", *args], env=cli_env, catch_exceptions=False
        )
        assert result.exit_code == 0, result.output
        return result.output

    created = run("transfers", "create", "--upn", upn, "--to", "990102", *as_dsl())
    reference = re.search(r"draft ([0-9a-f-]{36})", created).group(1)
    assert "FLAGGED" not in run("transfers", "review", reference[:8], *as_dsl())
    run(
        "transfers",
        "conversation",
        reference[:8],
        "--held-on",
        date.today().isoformat(),
        "--participants",
        "Dsl 1, Dsl 2",
        "--summary",
        "Needs a trusted adult.",
        *as_dsl(),
    )
    run("transfers", "authorise", reference[:8], "--confirm", *as_dsl())
    exported = run("transfers", "export", reference[:8], *as_dsl())
    zip_path = re.search(r"zip written to (\S+)", exported).group(1)
    passphrase = exported.strip().splitlines()[-1].strip()
    subprocess.run(
        [SEVEN_ZIP, "x", f"-p{passphrase}", f"-o{tmp_path / 'opened'}", zip_path],
        check=True,
        capture_output=True,
    )
    code_file = tmp_path / "opened" / "02-receipt-code.txt"
    code = re.search(r"Receipt code: (\S+)", code_file.read_text()).group(1)
    refused = runner.invoke(
        main,
        [
            "--school",
            "990101",
            "transfers",
            "confirm-receipt",
            reference[:8],
            "--receipt-code",
            "0000-0000-0000-0000",
            "--confirmed-by",
            "Dsl 2",
            *as_dsl(),
        ],
        env=cli_env,
    )
    assert refused.exit_code == 1
    assert "does not match" in refused.output
    run(
        "transfers",
        "confirm-receipt",
        reference[:8],
        "--receipt-code",
        code,
        "--confirmed-by",
        "Dsl 2",
        *as_dsl(),
    )
    assert re.search(rf"{reference}\s+closed\s+990101 -> 990102", run("transfers", "list"))


def test_a_deputy_is_refused_on_the_command_line_in_the_words_of_the_web(
    instance: Instance, cli_env: dict[str, str]
) -> None:
    from sqlalchemy import select

    from exchange.audit.models import AuditEntry
    from exchange.records.models import School
    from exchange.records.schools import add_user
    from exchange.transfers.models import Transfer

    with transaction(instance.sessions) as session:
        sender = school_with_keys(session, instance, 1, "bretherton")
        receiver = school_with_keys(session, instance, 2, "holy_trinity")
        enrol_partner(session, sender.id, own_card(session, receiver, None))
        subject, _ = child_with_records(session, instance, sender)
        add_user(session, session.get(School, sender.id), "deputy_dsl", "Dep", "dep@example.org")
        upn = subject.upn
    enrol(instance, "dsl1@example.org")
    enrol(instance, "dep@example.org")
    runner = CliRunner()

    def run(*args: str) -> tuple[int, str]:
        result = runner.invoke(main, ["--school", "990101", *args], env=cli_env)
        return result.exit_code, result.output

    def as_dsl() -> list[str]:
        return acting(instance, "dsl1@example.org")

    code, created = run("transfers", "create", "--upn", upn, "--to", "990102", *as_dsl())
    reference = re.search(r"draft ([0-9a-f-]{36})", created).group(1)[:8]
    assert run("transfers", "review", reference, *as_dsl())[0] == 0
    code, early = run("transfers", "authorise", reference, "--confirm", *as_dsl())
    assert code == 1
    assert (
        "This step (authorise) is not possible while the transfer is in redaction review" in early
    )
    summary = ["--participants", "Dsl 1, Dsl 2", "--summary", "Needs a trusted adult."]
    held = ["--held-on", date.today().isoformat()]
    assert run("transfers", "conversation", reference, *held, *summary, *as_dsl())[0] == 0
    as_deputy = acting(instance, "dep@example.org")
    code, refused = run("transfers", "authorise", reference, "--confirm", *as_deputy)
    assert code == 1
    assert (
        "error: Only the DSL can authorise a transfer at this school; deputies are not allowed to"
        in refused
    )
    with instance.sessions() as session:
        assert session.scalar(select(Transfer.state)) == "conversation_recorded"
        refusals = session.scalars(
            select(AuditEntry.event).where(AuditEntry.event.like("%_refused"))
        ).all()
    assert refusals == ["transfer.authorise_refused", "transfer.authorise_refused"]
