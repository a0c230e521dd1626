"""The `exchange` command starts without importing its commands (checked, never timed)."""

from __future__ import annotations

import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from exchange.cli import main
from exchange.cli_commands import COMMANDS
from exchange.cli_lazy import LazyCommand

HEAVY = ("sqlalchemy", "celery", "reportlab", "pikepdf", "flask")
IMPORTED_HEAVY = (
    f"import exchange.cli, sys; print(sorted(m for m in sys.modules if m.startswith({HEAVY!r})))"
)
AFTER_HELP = f"""\
import sys
from exchange.cli import main
from exchange.cli_commands import COMMANDS
try:
    main(["--help"])
except SystemExit:
    pass
modules = {{entry.module for entry in COMMANDS}}
print(sorted(m for m in sys.modules if m in modules or m.startswith({HEAVY!r})))
"""


def test_help_lists_every_command_with_its_summary() -> None:
    result = CliRunner().invoke(main, ["--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    listed = result.output.split("Commands:", 1)[1]
    for entry in COMMANDS:
        assert f"  {entry.name} " in listed
        assert entry.summary in listed


def test_importing_the_cli_imports_no_heavy_library() -> None:
    found = subprocess.run(
        [sys.executable, "-c", IMPORTED_HEAVY], capture_output=True, text=True, check=True
    )
    assert found.stdout.strip() == "[]"


def test_help_imports_no_command_module_and_no_heavy_library() -> None:
    found = subprocess.run(
        [sys.executable, "-c", AFTER_HELP], capture_output=True, text=True, check=True
    )
    assert found.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize("entry", COMMANDS, ids=lambda entry: entry.name)
def test_table_matches_the_real_command(entry: LazyCommand) -> None:
    command = entry.load()
    assert isinstance(command, click.Command)
    assert command.name == entry.name
    assert entry.summary == command.get_short_help_str(limit=10_000)
    for limit in (30, 45, 80):
        assert entry.placeholder().get_short_help_str(limit) == command.get_short_help_str(limit)


def test_a_command_runs_once_loaded() -> None:
    result = CliRunner().invoke(main, ["redact", "--help"])
    assert result.exit_code == 0, result.output
    assert "pdf" in result.output
    assert "text" in result.output


def test_an_unknown_command_is_a_usage_error() -> None:
    result = CliRunner().invoke(main, ["no-such-command"])
    assert result.exit_code == 2
    assert "No such command" in result.output
