"""Read a Common Transfer File: pupils by UPN, their destination, and hostile XML refused."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, inspect, select, table

from exchange.cli import main
from exchange.db import transaction
from exchange.instance import Instance
from exchange.records.ctf import import_ctf
from exchange.records.import_errors import ImportRejected
from exchange.records.import_example import add_example_school, example_export
from exchange.records.importer import import_records
from exchange.records.models import Pupil

ASSETS = Path(__file__).resolve().parents[1] / "assets" / "imports" / "ctf"
SAMPLE = ASSETS / "sample.xml"
NOW = datetime(2025, 7, 15, 9, 0, tzinfo=UTC)


@pytest.fixture
def school_id(instance: Instance) -> int:
    """Return the id of the example school (LAESTAB 8012001, the CTF's source)."""
    with transaction(instance.sessions) as session:
        return add_example_school(session).id


def row_counts(instance: Instance) -> dict[str, int]:
    """Return the row count of every table."""
    names = inspect(instance.engine).get_table_names()
    with instance.engine.connect() as connection:
        return {n: connection.scalar(select(func.count()).select_from(table(n))) for n in names}


def refused(instance: Instance, school_id: int, path: Path) -> list[str]:
    """Read a CTF, expect a refusal that changed nothing, and return the problem lines."""
    before = row_counts(instance)
    with pytest.raises(ImportRejected) as caught:
        import_ctf(instance, school_id, path, now=NOW)
    assert row_counts(instance) == before
    return caught.value.lines()


def variant(tmp_path: Path, old: str, new: str) -> Path:
    """Write the sample with one piece of text replaced."""
    text = SAMPLE.read_text()
    assert old in text
    path = tmp_path / "variant.xml"
    path.write_text(text.replace(old, new, 1))
    return path


def test_sample_creates_pupils_with_destination(instance: Instance, school_id: int):
    summary = import_ctf(instance, school_id, SAMPLE, leaving_date=date(2025, 7, 18), now=NOW)
    assert (summary.created, summary.matched) == (3, 0)
    with instance.sessions() as session:
        pupils = sorted(session.scalars(select(Pupil)).all(), key=lambda pupil: pupil.upn)
        assert len(pupils) == 3
        for pupil in pupils:
            assert pupil.destination_laestab == "8014002"
            assert pupil.destination_urn == "100002"
            assert pupil.destination_name == "Hillcrest Academy"
            assert pupil.leaving_date == date(2025, 7, 18)
    again = import_ctf(instance, school_id, SAMPLE, now=NOW)
    assert (again.created, again.matched) == (0, 3)


def test_ctf_matches_pupils_from_a_records_import(
    instance: Instance, school_id: int, tmp_path: Path
):
    export = example_export().write_folder(tmp_path / "export")
    import_records(instance, school_id, export, now=NOW)
    summary = import_ctf(instance, school_id, SAMPLE, now=NOW)
    assert (summary.created, summary.matched) == (1, 2)
    with instance.sessions() as session:
        second = session.scalars(select(Pupil).where(Pupil.source_id == "p-2")).one()
        assert second.destination_laestab == "8014002"


def test_unknown_destination_code_leaves_destination_unset(
    instance: Instance, school_id: int, tmp_path: Path
):
    path = variant(tmp_path, "<LEA>801</LEA>\n      <Estab>4002</Estab>", "<LEA>MOV</LEA>")
    path.write_text(path.read_text().replace("<Estab>4002</Estab>", "<Estab>MMMM</Estab>"))
    summary = import_ctf(instance, school_id, path, now=NOW)
    assert "destination unknown" in summary.line()
    with instance.sessions() as session:
        assert session.scalars(select(Pupil.destination_laestab)).all() == [None, None, None]


@pytest.mark.parametrize("name", ["billion_laughs.xml", "external_entity.xml"])
def test_hostile_xml_is_refused(instance: Instance, school_id: int, name: str):
    lines = refused(instance, school_id, ASSETS / name)
    assert len(lines) == 1
    assert lines[0].startswith("CTF: declares a DTD or entities")


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("<LEA>801</LEA>", "<LEA>802</LEA>", "Header/SourceSchool: is not the school being"),
        ("<UPN>V801200115001</UPN>", "<UPN>A801200115001</UPN>", "Pupil[1]/UPN: UPN check"),
        ("<DOB>2014-11-20</DOB>", "<DOB>2030-11-20</DOB>", "Pupil[2]/DOB: is in the future"),
        ("<DOB>2014-11-20</DOB>", "<DOB>20/11/2014</DOB>", "Pupil[2]/DOB: must be a date"),
        ("<Surname>Pelham</Surname>", "", "Pupil[3]/Surname: is missing"),
        ("<UPN>J801200115002</UPN>", "<UPN>V801200115001</UPN>", "Pupil[2]/UPN: is also the"),
        ("</CTfile>", "", "CTF: is not well-formed XML"),
        ("<CTfile>", "<Other>", "CTF: is not well-formed XML"),
    ],
)
def test_bad_ctf_is_refused(
    instance: Instance, school_id: int, tmp_path: Path, old: str, new: str, expected: str
):
    lines = refused(instance, school_id, variant(tmp_path, old, new))
    assert any(expected in line for line in lines), lines
    text = "\n".join(lines)
    for name in ("Ashton", "Cartwright", "Pelham", "Arthur", "Heather", "Rowan"):
        assert name not in text


def test_date_of_birth_differing_from_the_stored_pupil(
    instance: Instance, school_id: int, tmp_path: Path
):
    import_ctf(instance, school_id, SAMPLE, now=NOW)
    path = variant(tmp_path, "<DOB>2015-06-14</DOB>", "<DOB>2015-06-15</DOB>")
    lines = refused(instance, school_id, path)
    assert lines == [
        "CTFpupilData/Pupil[3]/DOB: differs from the pupil with this UPN in the school"
    ]


def test_cli_import_ctf(instance: Instance, school_id: int):
    env = {
        "EXCHANGE_HOME": str(instance.home),
        "EXCHANGE_DATABASE_URL": instance.config["DATABASE_URL"],
        "EXCHANGE_INSTANCE_KEY": instance.config["INSTANCE_KEY"],
        "EXCHANGE_LOG_LEVEL": "WARNING",
    }
    runner = CliRunner()
    result = runner.invoke(
        main, ["records", "import-ctf", "--leaving-date", "2025-07-18", str(SAMPLE)], env=env
    )
    assert result.exit_code == 0, result.output
    assert "pupils: 3 created, 0 matched; destination 8014002" in result.stdout
    hostile = runner.invoke(
        main, ["records", "import-ctf", str(ASSETS / "billion_laughs.xml")], env=env
    )
    assert hostile.exit_code == 1
    assert "CTF: declares a DTD or entities" in hostile.stderr
