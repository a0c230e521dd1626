"""`exchange calendar` enters and imports term dates that move the transfer deadline."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from click.testing import CliRunner
from factories import school as make_school

from exchange.cli import main
from exchange.db import transaction
from exchange.instance import Instance
from exchange.records.models import School
from exchange.transfers.clock import deadline_for

CSV = (
    b"Type,Start,End,Description\r\n"
    b"Term,2026-09-03,2026-12-18,Autumn\r\n"
    b"Holiday,2026-10-26,2026-10-30,Half term\r\n"
    b"Term,2027-01-04,2027-03-26,Spring\r\n"
)


def test_a_school_imports_and_enters_its_dates_from_the_command_line(
    instance: Instance, cli_env: dict[str, str], tmp_path: Path
) -> None:
    with transaction(instance.sessions) as session:
        urn = make_school(session).urn
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(main, ["--school", urn, "calendar", *args], env=cli_env)
        assert result.exit_code == 0, result.output
        return result.output

    assert "estimated" in run("show", "--year", "2026")
    (tmp_path / "terms.csv").write_bytes(CSV)
    assert "imported 2 terms, 1 holidays and 0 INSET days" in run(
        "import", str(tmp_path / "terms.csv")
    )
    run("add-inset", "2027-01-04", "2027-01-05")
    run("region", "wales")
    shown = run("show", "--year", "2026")
    assert "entered; bank holidays of wales" in shown
    assert "INSET    2027-01-05" in shown
    assert "bank     2026-12-25" in shown
    with instance.sessions() as session:
        school = session.get(
            School, session.scalar(School.__table__.select().with_only_columns(School.id))
        )
        # Back on Wednesday 6 January after two INSET days: 6, 7, 8, 11, 12.
        assert deadline_for(school, date(2026, 12, 18), date(2026, 12, 18)) == date(2027, 1, 12)
    refused = runner.invoke(
        main, ["--school", urn, "calendar", "add-term", "2026-12-01", "2027-01-10"], env=cli_env
    )
    assert refused.exit_code != 0
    assert "overlaps" in refused.output
