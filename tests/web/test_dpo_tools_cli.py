"""`exchange dpo`: the UPN lookup, the register and the audit explorer from the command line."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from dpo_kit import play_year
from flask import Flask
from sqlalchemy import select
from totp_kit import enrol_user, fresh_code
from transfer_kit import OTHER_CHILD, SUBJECT
from web_kit import World

from exchange.audit.models import AuditEntry
from exchange.instance import Instance
from exchange.retention.cli_dpo import dpo


def _obj(instance: Instance, school_id: int) -> dict[str, Any]:
    return {"session_factory": instance.sessions, "school_id": school_id, "instance": instance}


def _as(instance: Instance, user_id: int) -> list[str]:
    return ["--user-id", str(user_id), "--code", fresh_code(instance, user_id)]


def test_the_dpo_answers_from_the_command_line_and_others_are_refused(
    app: Flask, instance: Instance, world: World, tmp_path: Path
) -> None:
    year = play_year(app, instance, world)
    dpo_id, dsl_id = world.user("sender", "dpo"), world.user("sender", "dsl")
    enrol_user(instance, dpo_id)
    enrol_user(instance, dsl_id)
    obj = _obj(instance, world.sender_id)
    runner = CliRunner()

    shown = runner.invoke(dpo, ["lookup", year.subject_upn, *_as(instance, dpo_id)], obj=obj)
    assert shown.exit_code == 0, shown.output
    assert "This child's file was destroyed." in shown.output
    assert f"certificate {year.certificate_id}" in shown.output
    assert "receipt verified 20" in shown.output

    csv_path, pdf_path = tmp_path / "register.csv", tmp_path / "register.pdf"
    args = ["register", "--from", "2020-01-01", "--csv", str(csv_path), "--pdf", str(pdf_path)]
    written = runner.invoke(dpo, [*args, *_as(instance, dpo_id)], obj=obj)
    assert written.exit_code == 0, written.output
    rows = list(csv.DictReader(io.StringIO(csv_path.read_text("utf-8-sig"))))
    assert sorted(row["kind"] for row in rows) == ["disposal", "transfer out"]
    if shutil.which("pdftotext"):
        text = subprocess.run(
            ["pdftotext", str(pdf_path), "-"], capture_output=True, text=True, check=True
        ).stdout
        assert "Register of transfers and disposals" in text

    log_path = tmp_path / "audit.csv"
    explored = runner.invoke(
        dpo,
        ["audit", "--upn", year.subject_upn, "--csv", str(log_path), *_as(instance, dpo_id)],
        obj=obj,
    )
    assert explored.exit_code == 0, explored.output
    entries = list(csv.DictReader(io.StringIO(log_path.read_text("utf-8-sig"))))
    assert "record.viewed" in {row["event"] for row in entries}
    for output in (shown.output, written.output, explored.output, log_path.read_text()):
        for name in (*SUBJECT, *OTHER_CHILD):
            assert name not in output

    refused = runner.invoke(dpo, ["lookup", year.subject_upn, *_as(instance, dsl_id)], obj=obj)
    assert refused.exit_code != 0
    assert "dsl may not do this" in str(refused.exception) + refused.output
    no_code = runner.invoke(dpo, ["lookup", year.subject_upn, "--user-id", str(dpo_id)], obj=obj)
    assert no_code.exit_code != 0
    with instance.sessions() as session:
        events = session.scalars(
            select(AuditEntry.event).where(
                AuditEntry.school_id == world.sender_id, AuditEntry.event.startswith("dpo.")
            )
        ).all()
    assert sorted(events) == ["dpo.audit_exported", "dpo.child_looked_up", "dpo.register_exported"]
