"""A DSL or an operator finds a child's UPN and a transfer's next step without the source."""

from __future__ import annotations

import re

from click.testing import CliRunner, Result
from sqlalchemy import func, select
from totp_kit import acting, enrol
from transfer_kit import OTHER_CHILD, SUBJECT, child_with_records, school_with_keys

from exchange.audit.models import AuditEntry
from exchange.cli import main
from exchange.db import transaction
from exchange.instance import Instance
from exchange.partners.service import enrol_partner, own_card
from exchange.records.models import School
from exchange.records.schools import add_user

NAME = f"{SUBJECT[0]} {SUBJECT[1]}"


def _setup(instance: Instance, service_url: str | None) -> str:
    with transaction(instance.sessions) as session:
        sender = school_with_keys(session, instance, 1, "bretherton")
        receiver = school_with_keys(session, instance, 2, "holy_trinity")
        enrol_partner(session, sender.id, own_card(session, receiver, service_url))
        subject, _ = child_with_records(session, instance, sender)
        add_user(session, session.get(School, sender.id), "dpo", "Dee Po", "dpo1@example.org")
        upn = subject.upn
    enrol(instance, "dsl1@example.org")
    enrol(instance, "dpo1@example.org")
    return upn


def _run(cli_env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(main, ["--school", "990101", *args], env=cli_env)


def _viewed(instance: Instance) -> int:
    with instance.sessions() as session:
        return session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.event == "record.viewed", AuditEntry.object_type == "pupil")
        )


def test_pupils_list_and_show_give_upns_to_all_and_names_only_to_dsls(
    instance: Instance, cli_env: dict[str, str]
) -> None:
    upn = _setup(instance, None)
    plain = _run(cli_env, "pupils", "list")
    assert plain.exit_code == 0, plain.output
    assert upn in plain.output
    assert "leaving 2026-11-20" in plain.output
    assert "transfer not started" in plain.output
    assert SUBJECT[1] not in plain.output
    assert _viewed(instance) == 0
    everyone = _run(cli_env, "pupils", "list", "--all").output
    assert len(everyone.strip().splitlines()) == 2  # The leaver and the other child.
    named = _run(cli_env, "pupils", "list", *acting(instance, "dsl1@example.org"))
    assert named.exit_code == 0, named.output
    assert NAME in named.output
    assert OTHER_CHILD[1] not in named.output  # Not a leaver.
    assert _viewed(instance) == 1
    refused = _run(cli_env, "pupils", "list", *acting(instance, "dpo1@example.org"))
    assert refused.exit_code == 1
    assert SUBJECT[1] not in refused.output
    wrong = _run(cli_env, "pupils", "list", "--as", "dsl1@example.org", "--code", "000000")
    assert wrong.exit_code == 1
    assert SUBJECT[1] not in wrong.output

    shown = _run(cli_env, "pupils", "show", upn, *acting(instance, "dsl1@example.org"))
    assert shown.exit_code == 0, shown.output
    assert f"{NAME}, born 2016-04-02, UPN {upn}" in shown.output
    assert f"transfers create --upn {upn}" in shown.output
    anonymous = _run(cli_env, "pupils", "show", upn).output
    assert f"child     UPN {upn}" in anonymous
    assert "2016-04-02" not in anonymous
    assert _run(cli_env, "pupils", "show", "A123456789012").exit_code != 0


def test_transfers_show_gives_the_next_step_and_the_workflows_reason_it_waits(
    instance: Instance, cli_env: dict[str, str]
) -> None:
    upn = _setup(instance, "https://receiver.example.org")  # Online; keys not yet confirmed.
    created = _run(
        cli_env,
        "transfers",
        "create",
        "--upn",
        upn,
        "--to",
        "990102",
        *acting(instance, "dsl1@example.org"),
    )
    assert created.exit_code == 0, created.output
    reference = re.search(r"draft ([0-9a-f-]{36})", created.output).group(1)[:8]

    draft = _run(cli_env, "transfers", "show", reference)
    assert draft.exit_code == 0, draft.output
    assert f"child     UPN {upn}" in draft.output
    assert SUBJECT[1] not in draft.output
    assert "state     draft: a draft" in draft.output
    assert "next step Redact what is selected for the DSL's review" in draft.output
    assert f"command   exchange transfers review {reference} --as EMAIL" in draft.output
    assert "ready     yes" in draft.output
    assert "order     create -> review" in draft.output

    reviewed = _run(
        cli_env, "transfers", "review", reference, *acting(instance, "dsl1@example.org")
    )
    assert reviewed.exit_code == 0, reviewed.output
    waiting = _run(cli_env, "transfers", "show", reference, *acting(instance, "dsl1@example.org"))
    assert waiting.exit_code == 0, waiting.output
    assert NAME in waiting.output  # A DSL asked.
    assert "next step Sign the offer for the receiving school" in waiting.output
    assert re.search(r"blocked\s+.*(safety number|redaction flag)", waiting.output)


def test_a_step_taken_too_early_says_which_step_comes_first(
    instance: Instance, cli_env: dict[str, str]
) -> None:
    upn = _setup(instance, None)  # Offline: the conversation comes after the review.
    as_dsl = lambda: acting(instance, "dsl1@example.org")  # noqa: E731
    created = _run(cli_env, "transfers", "create", "--upn", upn, "--to", "990102", *as_dsl())
    reference = re.search(r"draft ([0-9a-f-]{36})", created.output).group(1)[:8]
    early = _run(cli_env, "transfers", "authorise", reference, "--confirm", *as_dsl())
    assert early.exit_code == 1
    assert "not possible while the transfer is a draft" in early.output
    assert "the next step is: Redact what is selected for the DSL's review" in early.output
    assert _run(cli_env, "transfers", "review", reference, *as_dsl()).exit_code == 0
    still = _run(cli_env, "transfers", "authorise", reference, "--confirm", *as_dsl())
    assert "the next step is: Record the DSL-to-DSL conversation" in still.output
