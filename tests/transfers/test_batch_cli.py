"""`exchange batches`: a batch started from UPNs with a progress bar, shown, and authorised."""

from __future__ import annotations

import re

from batch_kit import make_leavers
from click.testing import CliRunner
from totp_kit import acting, enrol
from transfer_kit import Pair

from exchange.cli import main
from exchange.db import transaction
from exchange.instance import Instance
from exchange.records.models import School
from exchange.records.upn import make_upn


def test_a_batch_from_upns_through_the_commands(
    instance: Instance, pair: Pair, cli_env: dict[str, str]
) -> None:
    with transaction(instance.sessions) as session:
        sender = session.get(School, pair.sender_id)
        upns = [p.upn for p in make_leavers(session, sender, [70, 71])]
        stranger = make_upn(sender.laestab, 26, 998)
    enrol(instance, "dsl1@example.org")
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(
            main, ["--school", "990101", *args], env=cli_env, catch_exceptions=False
        )
        assert result.exit_code == 0, result.output
        return result.output

    upn_args = [part for upn in [*upns, stranger] for part in ("--upn", upn)]
    made = run(
        "batches", "create", *upn_args, "--to", "990102", *acting(instance, "dsl1@example.org")
    )
    assert "Starting transfers" in made
    assert "2 of 3 children started" in made
    assert f"not started  UPN {stranger}: no pupil with this UPN at this school" in made
    reference = re.search(r"batch ([0-9a-f-]{36})", made).group(1)
    shown = run("batches", "show", reference[:8])
    assert shown.count("  offered") == 2
    assert f"UPN {stranger}" in shown
    offered = run("batches", "offer", reference[:8], *acting(instance, "dsl1@example.org"))
    assert "offered 0 of 2" in offered  # Both were offered when the batch was made.
    authorised = run(
        "batches", "authorise", reference[:8], "--confirm", *acting(instance, "dsl1@example.org")
    )
    assert "authorised 0 of 2" in authorised
    assert authorised.count("is not possible while the transfer is offered") == 2
    assert "Next: the receiving schools answer" in made
