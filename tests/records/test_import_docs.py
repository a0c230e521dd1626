"""The documented example imports into a new school by exactly the documented commands."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from exchange.cli import main

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "import-format.md"


def _section() -> str:
    text = PAGE.read_text()
    return text.split("## 9. Try the example on a new school", 1)[1]


def _blocks(section: str) -> list[str]:
    return re.findall(r"```(?:sh)?\n(.*?)```", section, flags=re.DOTALL)


def test_the_documented_commands_import_the_example_into_a_new_school(
    cli_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    commands, printed = _blocks(_section())
    monkeypatch.chdir(ROOT)
    lines = [line for line in commands.strip().splitlines() if line]
    assert lines[0].startswith("export EXCHANGE_HOME=")  # The test's own instance folder.
    output = ""
    for line in lines[1:]:
        words = shlex.split(line)
        assert words[0] == "exchange", line
        result = CliRunner().invoke(main, words[1:], env=cli_env)
        assert result.exit_code == 0, (line, result.output)
        output = result.output
    for expected in printed.strip().splitlines():
        assert expected in output


def test_the_example_is_refused_on_another_tree_naming_the_category(
    cli_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    run = CliRunner().invoke
    assert run(main, ["db", "upgrade"], env=cli_env).exit_code == 0
    added = ["schools", "add", "--urn", "100001", "--laestab", "8012001", "--name", "M"]
    assert run(main, added, env=cli_env).exit_code == 0
    assert run(main, ["policy", "apply", "holy_trinity"], env=cli_env).exit_code == 0
    refused = run(main, ["records", "import", "docs/examples/import"], env=cli_env)
    assert refused.exit_code == 1
    assert "is not a category of this school" in refused.output
