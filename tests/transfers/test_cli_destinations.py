"""A child whose destination is unknown, then known to be a school in Wales: on the CLI."""

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

SEVEN_ZIP = shutil.which("7zz") or shutil.which("7z")


@pytest.mark.skipif(SEVEN_ZIP is None, reason="7-Zip is not installed (scripts/setup.sh does)")
def test_an_unknown_destination_is_set_later_and_the_file_goes_offline_to_wales(
    instance: Instance, cli_env: dict[str, str], tmp_path: Path
) -> None:
    with transaction(instance.sessions) as session:
        sender = school_with_keys(session, instance, 1, "bretherton")
        subject, _ = child_with_records(session, instance, sender)
        upn = subject.upn
    enrol(instance, "dsl1@example.org")
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(main, ["--school", "990101", *args], env=cli_env)
        assert result.exit_code == code, result.output
        return result.output

    def me() -> list[str]:
        return acting(instance, "dsl1@example.org")

    created = run("transfers", "create", "--upn", upn, "--to", "unknown", *me())
    assert "destination unknown" in created
    reference = re.search(r"draft ([0-9a-f-]{36})", created).group(1)[:8]
    run("transfers", "review", reference, *me())
    conversation = [
        "transfers",
        "conversation",
        reference,
        "--held-on",
        date.today().isoformat(),
        "--participants",
        "Dsl 1, Dsl 2",
        "--summary",
        "Needs a trusted adult.",
    ]
    refused = run(*conversation, *me(), code=1)
    assert "destination is unknown" in refused

    wrong = run(
        "transfers",
        "destination-add",
        "welsh_school",
        "--identifier",
        "2011234",
        "--name",
        "Ysgol Enghraifft",
        "--contact-name",
        "Sam Jones",
        "--contact-email",
        "dsl@ysgol.example",
        *me(),
        code=1,
    )
    assert "201 is not a Welsh local authority" in wrong
    added = run(
        "transfers",
        "destination-add",
        "welsh_school",
        "--identifier",
        "681-2001",
        "--name",
        "Ysgol Enghraifft",
        "--contact-name",
        "Sam Jones",
        "--contact-email",
        "dsl@ysgol.example",
        "--contact-phone",
        "01000 000000",
        *me(),
    )
    assert added.startswith("welsh_school:6812001")
    moved = run("transfers", "set-destination", reference, "--to", "welsh_school:6812001", *me())
    assert "offline route" in moved
    run(*conversation, *me())
    run("transfers", "authorise", reference, "--confirm", *me())
    exported = run("transfers", "export", reference, *me())
    zip_path = re.search(r"zip written to (\S+)", exported).group(1)
    passphrase = exported.strip().splitlines()[-1].strip()
    subprocess.run(
        [SEVEN_ZIP, "x", f"-p{passphrase}", f"-o{tmp_path / 'opened'}", zip_path],
        check=True,
        capture_output=True,
    )
    code = re.search(
        r"Receipt code: (\S+)", (tmp_path / "opened" / "02-receipt-code.txt").read_text()
    ).group(1)
    run(
        "transfers",
        "confirm-receipt",
        reference,
        "--receipt-code",
        code,
        "--confirmed-by",
        "Sam Jones, Ysgol Enghraifft",
        *me(),
    )
    assert re.search(rf"{reference}\S*\s+closed", run("transfers", "list"))
