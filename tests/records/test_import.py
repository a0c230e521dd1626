"""Import a records export: a good one, again (idempotent), changes as edits, and the CLI."""

from __future__ import annotations

import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, inspect, select, table

from exchange.cli import main
from exchange.db import transaction
from exchange.instance import Instance
from exchange.records.import_example import ExportBuilder, add_example_school, example_export
from exchange.records.importer import import_records
from exchange.records.models import (
    Incident,
    IncidentEdit,
    Pupil,
    VaultDocument,
)
from exchange.vault.pupil_keys import blob_context, pupil_data_key

NOW = datetime(2025, 7, 1, 12, 0, tzinfo=UTC)
DOCS_EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "import"


def make_school(instance: Instance) -> int:
    """Create the example school with its categories; return its id."""
    with transaction(instance.sessions) as session:
        return add_example_school(session).id


def snapshot(instance: Instance) -> tuple[dict[str, int], list[str]]:
    """Return the row count of every table and the files in the blob folder."""
    names = inspect(instance.engine).get_table_names()
    with instance.engine.connect() as connection:
        counts = {
            name: connection.scalar(select(func.count()).select_from(table(name))) for name in names
        }
    root = instance.blobs.root
    files = sorted(str(p.relative_to(root)) for p in root.rglob("*")) if root.exists() else []
    return counts, files


@pytest.fixture
def school_id(instance: Instance) -> int:
    """Return the id of the example school, with its category tree."""
    return make_school(instance)


def test_good_import_creates_everything(instance: Instance, school_id: int, tmp_path: Path):
    export = example_export().write_folder(tmp_path / "export")
    summary = import_records(instance, school_id, export, now=NOW)
    assert summary.get("staff", "created") == 2
    assert summary.get("pupils", "created") == 2
    assert summary.get("incidents", "created") == 2
    assert summary.get("actions", "created") == 2
    assert summary.get("edits", "created") == 1
    assert summary.get("documents", "created") == 2
    with instance.sessions() as session:
        incident = session.scalars(select(Incident).where(Incident.source_id == "i-1")).one()
        assert [c.path for c in incident.categories] == [
            "Home related issues/Safeguarding incident"
        ]
        assert [p.source_id for p in incident.linked_pupils] == ["p-2"]
        assert incident.status == "closed"
        assert incident.author.job_title == "Class teacher"
        assert [edit.field for edit in incident.edits] == ["status"]
        pupil = session.scalars(select(Pupil).where(Pupil.source_id == "p-1")).one()
        assert pupil.destination_laestab == "8014002"
        assert str(pupil.leaving_date) == "2025-07-18"


def test_the_documented_example_imports(instance: Instance, school_id: int):
    summary = import_records(instance, school_id, DOCS_EXAMPLE, now=NOW)
    assert summary.get("documents", "created") == 2


def test_blob_is_encrypted_and_reads_back(instance: Instance, school_id: int, tmp_path: Path):
    builder = ExportBuilder()
    pupil = builder.add_pupil()
    secret = b"Plaintext that must never appear on disk: case conference minutes."
    builder.add_document(pupil, content=secret)
    import_records(instance, school_id, builder.write_folder(tmp_path / "x"), now=NOW)
    blobs = [p for p in instance.blobs.root.rglob("*") if p.is_file()]
    assert len(blobs) == 1
    assert secret not in blobs[0].read_bytes()
    assert b"case conference" not in blobs[0].read_bytes()
    with instance.sessions() as session:
        document = session.scalars(select(VaultDocument)).one()
        key = pupil_data_key(session, document.pupil, instance.instance_key)
        context = blob_context(document.pupil)
        assert instance.blobs.read_all(key, context, document.storage_key) == secret


def test_zip_import_matches_folder_import(instance: Instance, school_id: int, tmp_path: Path):
    archive = example_export().write_zip(tmp_path / "export.zip")
    summary = import_records(instance, school_id, archive, now=NOW)
    assert summary.get("documents", "created") == 2
    assert summary.get("incidents", "created") == 2


def test_reimport_creates_nothing(instance: Instance, school_id: int, tmp_path: Path):
    export = example_export().write_folder(tmp_path / "export")
    import_records(instance, school_id, export, now=NOW)
    before = snapshot(instance)
    summary = import_records(instance, school_id, export, now=NOW)
    after = snapshot(instance)
    # The re-import itself is an event: it adds one audit entry and nothing else.
    assert after[0].pop("audit_entries") == before[0].pop("audit_entries") + 1
    assert after == before
    for kind in ("staff", "pupils", "incidents", "actions", "edits", "documents"):
        assert summary.get(kind, "created") == 0, kind
        assert summary.get(kind, "updated") == 0, kind
    assert summary.get("documents", "unchanged") == 2


def test_reimport_records_changes_as_edits(instance: Instance, school_id: int, tmp_path: Path):
    builder = example_export()
    import_records(instance, school_id, builder.write_folder(tmp_path / "one"), now=NOW)
    with instance.sessions() as session:
        old_narrative = (
            session.scalars(select(Incident).where(Incident.source_id == "i-2")).one().narrative
        )
    incident = builder.records["incidents"][1]
    incident["narrative"] = "Revised account after the meeting."
    incident["status"] = "closed"
    incident["categories"] = ["Attendance/Internal Monitoring", "Medical"]
    incident["actions"].append(
        {"id": "a-2-2", "text": "Phoned home.", "author": "s-1", "acted_at": NOW.isoformat()}
    )
    summary = import_records(instance, school_id, builder.write_folder(tmp_path / "two"), now=NOW)
    assert summary.get("incidents", "updated") == 1
    assert summary.get("incidents", "unchanged") == 1
    assert summary.get("actions", "created") == 1
    with instance.sessions() as session:
        stored = session.scalars(select(Incident).where(Incident.source_id == "i-2")).one()
        assert stored.narrative == "Revised account after the meeting."
        edits = {edit.field: edit for edit in stored.edits}
        assert edits["narrative"].previous_value == old_narrative
        assert edits["narrative"].new_value == "Revised account after the meeting."
        assert edits["narrative"].edited_at == NOW
        assert edits["status"].previous_value == "open"
        assert edits["categories"].new_value == "Attendance/Internal Monitoring; Medical"
        assert len(stored.actions) == 2
        assert session.scalar(select(func.count()).select_from(IncidentEdit)) == 1 + 3


def test_records_import_pupil_created_by_ctf(instance: Instance, school_id: int, tmp_path: Path):
    builder = ExportBuilder()
    pupil = builder.add_pupil()
    with transaction(instance.sessions) as session:
        session.add(
            Pupil(
                school_id=school_id,
                upn=pupil["upn"],
                forename="X",
                surname="Y",
                destination_laestab="8014002",
            )
        )
    summary = import_records(instance, school_id, builder.write_folder(tmp_path / "e"), now=NOW)
    assert summary.get("pupils", "updated") == 1
    with instance.sessions() as session:
        stored = session.scalars(select(Pupil)).one()
        assert stored.source_id == "p-1"
        assert stored.destination_laestab == "8014002"  # Kept: the export did not say.


def _cli_env(instance: Instance) -> dict[str, str]:
    return {
        "EXCHANGE_HOME": str(instance.home),
        "EXCHANGE_DATABASE_URL": instance.config["DATABASE_URL"],
        "EXCHANGE_INSTANCE_KEY": instance.config["INSTANCE_KEY"],
        "EXCHANGE_LOG_LEVEL": "WARNING",
    }


def test_cli_import_prints_summary(instance: Instance, school_id: int, tmp_path: Path):
    export = example_export().write_zip(tmp_path / "export.zip")
    runner = CliRunner()
    result = runner.invoke(main, ["records", "import", str(export)], env=_cli_env(instance))
    assert result.exit_code == 0, result.output
    assert "staff: 2 created, 0 updated, 0 unchanged" in result.stdout
    assert "documents: 2 created, 0 updated, 0 unchanged" in result.stdout
    assert "importing" not in result.stderr  # No progress bar when stderr is not a terminal.
    again = runner.invoke(main, ["records", "import", str(export)], env=_cli_env(instance))
    assert "documents: 0 created, 0 updated, 2 unchanged" in again.stdout


def test_cli_import_shows_progress_when_asked(instance: Instance, school_id: int, tmp_path: Path):
    export = example_export().write_folder(tmp_path / "export")
    result = CliRunner().invoke(
        main, ["records", "import", "--progress", str(export)], env=_cli_env(instance)
    )
    assert result.exit_code == 0, result.output
    assert "checking files" in result.stderr
    assert "importing" in result.stderr
    assert "100%" in result.stderr


def test_cli_import_lists_problems_and_exits_1(instance: Instance, school_id: int, tmp_path: Path):
    builder = example_export()
    builder.records["incidents"][0]["occurred_at"] = "2010-01-01T10:00:00+00:00"
    builder.records["pupils"][1]["upn"] = "A801200115002"
    export = builder.write_folder(tmp_path / "export")
    result = CliRunner().invoke(main, ["records", "import", str(export)], env=_cli_env(instance))
    assert result.exit_code == 1
    assert 'incidents[0] (id "i-1").occurred_at: is before the date of birth' in result.stderr
    assert 'pupils[1] (id "p-2").upn: UPN check letter' in result.stderr
    assert "nothing was changed" in result.stderr


def test_zip_written_by_builder_is_plain(tmp_path: Path):
    archive = example_export().write_zip(tmp_path / "e.zip")
    with zipfile.ZipFile(archive) as opened:
        assert sorted(opened.namelist()) == ["files/d-1.txt", "files/d-2.txt", "records.json"]
