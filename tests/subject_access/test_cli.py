"""A DSL and a DPO handle a request on the command line, from logging to acknowledgement."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from click.testing import CliRunner
from sar_kit import FORBIDDEN_NAMES, PARTNER, make_setting
from sqlalchemy import select
from totp_kit import acting, enrol

from exchange.audit.models import AuditEntry
from exchange.cli import main
from exchange.instance import Instance
from exchange.records.models import Pupil


def test_a_request_through_the_commands(
    instance: Instance, cli_env: dict[str, str], tmp_path: Path
) -> None:
    setting = make_setting(instance)
    with instance.sessions() as session:
        upn = session.get(Pupil, setting.pupil_id).upn
    enrol(instance, "dsl1@example.org")
    enrol(instance, "dpo1@example.org")
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(main, ["--school", "990101", *args], env=cli_env)
        assert result.exit_code == code, result.output
        return result.output

    def dsl() -> list[str]:
        return acting(instance, "dsl1@example.org")

    def dpo() -> list[str]:
        return acting(instance, "dpo1@example.org")

    logged = run(
        "subject-access", "log", "--upn", upn, "--requester", "Joanna Thornbury",
        "--relationship", "parent", "--received", "2026-11-30", "--linked",
        "--authority-check", "Birth certificate seen", *dsl(),
    )  # fmt: skip
    reference = re.search(r"request ([0-9a-f-]{36}): due 2026-12-30", logged).group(1)[:8]
    run("subject-access", "remove-person", reference, "--name", PARTNER, *dsl())
    run("subject-access", "child-views", reference, "--consulted", "--views", "Agreed", *dsl())
    redacted = run("subject-access", "redact", reference, *dsl())
    for item_id in re.findall(r"item (\d+): \w+ FLAGGED", redacted):
        run("subject-access", "review", reference, item_id, "--resolution", "confirmed",
            "--note", "Checked", *dsl())  # fmt: skip
    refused = run("subject-access", "submit", reference, *dsl(), code=1)
    assert "no identity check is recorded" in refused
    run("subject-access", "checks", reference, "--identity-check", "Passport seen", *dsl())
    run("subject-access", "submit", reference, *dsl())
    assert "second person" in run("subject-access", "approve", reference, *dsl(), code=1)
    run("subject-access", "approve", reference, *dpo())
    printed = tmp_path / "response.pdf"
    run("subject-access", "send", reference, "--print", "--output", str(printed), *dpo())
    text = subprocess.run(
        ["pdftotext", str(printed), "-"], capture_output=True, text=True, check=True
    ).stdout
    for name in FORBIDDEN_NAMES:
        assert name.casefold() not in text.casefold(), name
    code = re.search(r"[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}", text).group(0)
    closed = run("subject-access", "acknowledge", reference, "--receipt-code", code,
                 "--confirmed-by", "Requester by phone", *dsl())  # fmt: skip
    assert "closed; kept until" in closed
    assert "closed" in run("subject-access", "list")
    run("subject-access", "export", reference, "--output", str(tmp_path / "x.json"), *dsl(), code=1)
    run("subject-access", "export", reference, "--output", str(tmp_path / "record.json"), *dpo())
    record = json.loads((tmp_path / "record.json").read_text())
    assert record["state"] == "closed"
    assert record["response"]["delivery"] == "print"
    with instance.sessions() as session:
        refusals = session.scalars(
            select(AuditEntry.event).where(AuditEntry.event.like("sar.%_refused"))
        ).all()
    assert {"sar.submit_refused", "sar.approve_refused"} <= set(refusals)
