"""`exchange policy` through the real command line entry point."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from click.testing import CliRunner, Result

from exchange.cli import main

Runner = Callable[..., Result]


@pytest.fixture
def run(cli_env: dict[str, str]) -> Runner:
    """Return a function that runs `exchange ...` against a fresh instance."""
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        return runner.invoke(main, list(args), env=cli_env, catch_exceptions=False)

    invoke("schools", "add", "--urn", "100001", "--laestab", "8881001", "--name", "Test Primary")
    return invoke


def test_presets_are_listed(run: Runner) -> None:
    result = run("policy", "presets")
    assert result.exit_code == 0
    assert "bretherton" in result.output
    assert "holy_trinity" in result.output


def test_show_prints_the_tree_with_what_transfers(run: Runner) -> None:
    assert "no categories yet" in run("policy", "show").output
    applied = run("policy", "apply", "holy_trinity")
    assert applied.exit_code == 0, applied.output
    assert "61 created" in applied.output
    lines = run("policy", "show").output.splitlines()
    rows = {line.strip().split("  ")[0]: line for line in lines}
    assert rows["Peer on peer abuse"].split()[-2:] == ["child_on_child", "set"]
    assert "  Racist" in rows["Racist"]
    assert rows["Racist"].split()[1:] == ["racism", "set", "here"]
    assert "inherited from Peer on peer abuse" in rows["LGBT"]
    assert rows["Home Communication"].split()[-2:] == ["-", "set"]
    assert lines[-1].startswith("13 categories, 48 subcategories")


def test_set_changes_the_mapping(run: Runner) -> None:
    run("policy", "apply", "bretherton")
    result = run("policy", "set", "Medical/Hospital visit", "none")
    assert result.exit_code == 0, result.output
    assert "not transferred" in result.output
    lines = run("policy", "show").output.splitlines()
    hospital = next(line for line in lines if line.strip().startswith("Hospital visit"))
    assert hospital.split()[-3:] == ["-", "set", "here"]
    back = run("policy", "set", "Medical/Hospital visit", "inherit")
    assert "transfers as medical" in back.output


def test_unknown_paths_and_classes_are_clear_errors(run: Runner) -> None:
    run("policy", "apply", "bretherton")
    missing = run("policy", "set", "Nowhere", "sen")
    assert missing.exit_code == 1
    assert "no category 'Nowhere'" in missing.output
    wrong = run("policy", "set", "Behaviour", "naughty")
    assert wrong.exit_code == 2


def test_show_without_a_school_prints_every_school(run: Runner) -> None:
    run("schools", "add", "--urn", "100002", "--laestab", "8881002", "--name", "Second Primary")
    assert run("--school", "100001", "policy", "apply", "bretherton").exit_code == 0
    assert run("--school", "100002", "policy", "apply", "holy_trinity").exit_code == 0
    output = run("policy", "show").output
    assert "Test Primary (URN 100001)" in output
    assert "Second Primary (URN 100002)" in output
    assert output.index("Child on Child Abuse") < output.index("Peer on peer abuse")
    only = run("--school", "100002", "policy", "show").output
    assert "Test Primary" not in only


def test_incoming_shows_defaults_from_the_preset_and_sets_and_resets_a_class(run: Runner) -> None:
    run("policy", "apply", "holy_trinity")
    shown = run("policy", "incoming")
    assert shown.exit_code == 0, shown.output
    rows = {line.split()[0]: line for line in shown.output.splitlines()}
    assert set(rows) >= {"bullying", "child_protection", "racism", "sen"}
    assert rows["bullying"].endswith("(default)")
    assert "Peer on peer abuse/Bullying Allegation" in rows["bullying"]

    changed = run("policy", "incoming", "--set", "bullying=Peer on peer abuse")
    assert changed.exit_code == 0, changed.output
    line = next(x for x in changed.output.splitlines() if x.startswith("bullying"))
    assert "Peer on peer abuse  (set)" in line

    unknown = run("policy", "incoming", "--set", "bullying=No such category")
    assert unknown.exit_code != 0
    assert "no category 'No such category'" in unknown.output
    wrong_class = run("policy", "incoming", "--set", "gossip=Peer on peer abuse")
    assert wrong_class.exit_code != 0
    assert "unknown transfer class 'gossip'" in wrong_class.output
    assert "Peer on peer abuse  (set)" in run("policy", "incoming").output  # Unchanged.

    back = run("policy", "incoming", "--default", "bullying")
    line = next(x for x in back.output.splitlines() if x.startswith("bullying"))
    assert line.endswith("(default)")
