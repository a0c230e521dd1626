"""`exchange demo` through the command line: it loads, imports and changes nothing when rerun."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from exchange.cli import main
from exchange.demo.generate import DemoData
from exchange.demo.load import load_demo, school_counts
from exchange.instance import Instance
from exchange.policy.service import is_transferable
from exchange.records.models import Incident, Pupil, School, VaultDocument
from exchange.records.upn import validate_upn
from exchange.vault.pupil_keys import blob_context, pupil_data_key

from .conftest import TODAY


def test_demo_twice_gives_identical_rows(cli_env: dict[str, str]) -> None:
    runner = CliRunner()
    env = cli_env
    first = runner.invoke(main, ["demo"], env=env, catch_exceptions=False)
    assert first.exit_code == 0, first.output
    assert "999101" in first.output
    assert "12 (4 leaving)" in first.output
    again = runner.invoke(main, ["demo"], env=env, catch_exceptions=False)
    assert again.exit_code == 0, again.output
    assert "0 created" in again.output
    assert " 1 created" not in again.output
    assert first.output.split("Demo schools")[1] == again.output.split("Demo schools")[1]
    shown = runner.invoke(main, ["--school", "999102", "policy", "show"], env=env)
    assert "Peer on peer abuse" in shown.output


def test_loaded_records_are_whole_and_readable(instance: Instance, demo: DemoData) -> None:
    data, summary = load_demo(instance, TODAY)
    assert summary.get("pupils", "created") == 12
    with instance.sessions() as session:
        counts = {row.urn: row.counts for row in school_counts(session, data)}
        assert counts["999101"]["pupils"] == 12
        assert counts["999102"]["categories"] == 61
        for pupil in session.scalars(select(Pupil)):
            assert validate_upn(pupil.upn) == pupil.upn
        incidents = session.scalars(select(Incident)).all()
        transferable = [incident for incident in incidents if is_transferable(incident)]
        assert 0 < len(transferable) < len(incidents)
        document = session.scalars(select(VaultDocument).order_by(VaultDocument.id)).first()
        key = pupil_data_key(session, document.pupil, instance.instance_key)
        content = instance.blobs.read_all(key, blob_context(document.pupil), document.storage_key)
        assert hashlib.sha256(content).hexdigest() == document.sha256
        assert session.scalar(select(School).where(School.urn == "999102")) is not None


def test_the_demo_database_and_its_wal_hold_no_narrative_or_name_in_clear(
    cli_env: dict[str, str], demo: DemoData
) -> None:
    result = CliRunner().invoke(main, ["demo"], env=cli_env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    path = Path(cli_env["EXCHANGE_DATABASE_URL"].removeprefix("sqlite:///"))
    if not path.exists():
        pytest.skip("the demo database is not a SQLite file here")
    stored = b"".join(
        candidate.read_bytes()
        for candidate in (path, path.with_name(path.name + "-wal"))
        if candidate.exists()
    )
    records = demo.records
    # UPNs are left out: a transfer's minimal record keeps the UPN its signed offer states.
    secrets_in_demo = [f"{pupil['forename']} {pupil['surname']}" for pupil in records["pupils"]]
    secrets_in_demo += [pupil["forename"] for pupil in records["pupils"]]  # Not staff's.
    secrets_in_demo += [incident["narrative"][:40] for incident in records["incidents"]]
    secrets_in_demo += [
        action["text"][:40] for incident in records["incidents"] for action in incident["actions"]
    ]
    assert len(secrets_in_demo) > 40
    for secret in secrets_in_demo:
        assert secret.encode() not in stored, secret
