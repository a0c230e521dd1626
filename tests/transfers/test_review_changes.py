"""A record changed after its review stops the offer and authorisation until redacted again."""

from __future__ import annotations

import re
from datetime import date

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from totp_kit import acting, enrol
from transfer_kit import (
    MARKER,
    OTHER_CHILD,
    Pair,
    actor,
    change_records_after_review,
    child_with_records,
    offered_and_accepted,
    reviewed_draft,
    school_with_keys,
)

from exchange.audit.entry import parse_entry
from exchange.audit.models import AuditEntry
from exchange.cli import main
from exchange.db import transaction
from exchange.instance import Instance
from exchange.partners.service import enrol_partner, own_card
from exchange.records.models import Pupil, School, User
from exchange.transfers import workflow
from exchange.transfers.bundle_step import make_chronology
from exchange.transfers.client import WsgiTransport
from exchange.transfers.models import RedactedText, Transfer
from exchange.transfers.redaction_step import unresolved_flags
from exchange.transfers.workflow_types import ActionRefused


def _apply(instance: Instance, pair: Pair, transfer_id: int, action: str, **inputs) -> None:
    with transaction(instance.sessions) as session:
        transfer = session.get(Transfer, transfer_id)
        dsl = actor(session, pair.sender_dsl_id)
        workflow.apply(session, instance, transfer, action, dsl, **inputs)


def _authorise(instance: Instance, pair: Pair, transfer_id: int) -> None:
    _apply(
        instance,
        pair,
        transfer_id,
        "record_conversation",
        held_on=date.today(),
        participants="Dsl 1, Dsl 2",
        summary="Needs a trusted adult.",
    )
    _apply(instance, pair, transfer_id, "authorise", fresh_second_factor=True)


def test_an_action_added_after_the_offer_stops_authorisation_until_redacted_again(
    instance: Instance, pair: Pair, transport: WsgiTransport
) -> None:
    transfer_id, _uid = offered_and_accepted(instance, pair, transport)
    incident_id, action_id = change_records_after_review(instance, transfer_id)
    with pytest.raises(ActionRefused) as refused:
        _authorise(instance, pair, transfer_id)
    words = refused.value.message
    assert words == (
        f"2 text(s) changed in the records after the review, in incident(s) {incident_id}: "
        "redact them again and check the result before this step"
    )
    assert OTHER_CHILD[1] not in words  # Record references only, no content.
    assert MARKER not in words
    with instance.sessions() as session:
        transfer = session.get(Transfer, transfer_id)
        assert transfer.state == "conversation_recorded"
        assert transfer.bundle_sha256 is None

    _apply(instance, pair, transfer_id, "redact_changes")
    with instance.sessions() as session:
        transfer = session.get(Transfer, transfer_id)
        texts = {
            (row.kind, row.object_id): row.text
            for row in session.scalars(
                select(RedactedText).where(RedactedText.transfer_id == transfer_id)
            )
        }
        assert MARKER in texts[("incident", incident_id)]
        assert "social care" in texts[("action", action_id)]
        for text in texts.values():
            assert OTHER_CHILD[0] not in text
            assert OTHER_CHILD[1] not in text
        # The other child keeps the pseudonym the review gave them.
        assert len(set(transfer.pseudonyms.values())) == len(transfer.pseudonyms)
        entry = session.scalars(
            select(AuditEntry).where(
                AuditEntry.school_id == pair.sender_id,
                AuditEntry.event == "transfer.redaction_rerun",
            )
        ).one()
        details = parse_entry(entry.canonical)["details"]
        assert (details["texts"], details["new"], details["incidents"]) == (2, 1, [incident_id])
        assert not unresolved_flags(session, transfer)

    _apply(instance, pair, transfer_id, "authorise", fresh_second_factor=True)
    with instance.sessions() as session:
        transfer = session.get(Transfer, transfer_id)
        assert transfer.state == "authorised"
        school = session.get(School, transfer.school_id)
        pupil = session.get(Pupil, transfer.pupil_id)
        chronology = make_chronology(session, transfer, school, pupil)
    (incident,) = [i for i in chronology.incidents if i.ref == f"I{incident_id}"]
    assert MARKER in incident.narrative
    assert any("social care" in action.text for action in incident.actions)


def test_a_change_before_the_offer_stops_the_offer(instance: Instance, pair: Pair) -> None:
    with transaction(instance.sessions) as session:
        transfer_id = reviewed_draft(session, instance, pair).id
    change_records_after_review(instance, transfer_id)
    with pytest.raises(ActionRefused, match="changed in the records after the review"):
        _apply(instance, pair, transfer_id, "offer")
    _apply(instance, pair, transfer_id, "redact_changes")
    _apply(instance, pair, transfer_id, "offer")
    with instance.sessions() as session:
        assert session.get(Transfer, transfer_id).state == "offered"


def test_nothing_to_redact_again_and_the_wrong_role_are_refused(
    instance: Instance, pair: Pair, transport: WsgiTransport
) -> None:
    transfer_id, _uid = offered_and_accepted(instance, pair, transport)
    with pytest.raises(ActionRefused, match="Nothing has changed in the records"):
        _apply(instance, pair, transfer_id, "redact_changes")
    change_records_after_review(instance, transfer_id)
    with transaction(instance.sessions) as session:
        transfer = session.get(Transfer, transfer_id)
        dpo = session.scalar(select(User).filter_by(school_id=pair.sender_id, role="dpo"))
        with pytest.raises(ActionRefused) as refused:
            workflow.apply(session, instance, transfer, "redact_changes", actor(session, dpo.id))
        assert refused.value.status_code == 403


def test_the_command_line_names_the_changes_and_redacts_them_again(
    instance: Instance, cli_env: dict[str, str]
) -> None:
    with transaction(instance.sessions) as session:
        sender = school_with_keys(session, instance, 1, "bretherton")
        receiver = school_with_keys(session, instance, 2, "holy_trinity")
        enrol_partner(session, sender.id, own_card(session, receiver, None))
        subject, _ = child_with_records(session, instance, sender)
        upn = subject.upn
    enrol(instance, "dsl1@example.org")
    runner = CliRunner()

    def run(*args: str) -> tuple[int, str]:
        as_dsl = acting(instance, "dsl1@example.org")
        result = runner.invoke(main, ["--school", "990101", *args, *as_dsl], env=cli_env)
        return result.exit_code, result.output

    created = run("transfers", "create", "--upn", upn, "--to", "990102")[1]
    reference = re.search(r"draft ([0-9a-f-]{36})", created).group(1)
    assert run("transfers", "review", reference[:8])[0] == 0
    with instance.sessions() as session:
        transfer_id = session.scalar(select(Transfer.id).where(Transfer.transfer_uid == reference))
    incident_id, _action_id = change_records_after_review(instance, transfer_id)
    conversation = ("--held-on", date.today().isoformat(), "--participants", "Dsl 1, Dsl 2")
    summary = ("--summary", "Needs a trusted adult.")
    assert run("transfers", "conversation", reference[:8], *conversation, *summary)[0] == 0
    shown = run("transfers", "show", reference[:8])[1]
    assert "blocked   2 text(s) changed in the records after the review" in shown
    assert (
        "also      Redact again the texts that changed in the records after the review (possible)"
        in shown
    )
    code, refused = run("transfers", "authorise", reference[:8], "--confirm")
    assert code == 1
    assert "2 text(s) changed in the records after the review" in refused
    code, redone = run("transfers", "redact-changes", reference[:8])
    assert code == 0, redone
    assert (
        f"redacted again: Incident {incident_id} (1 October 2026): its narrative changed: clean"
        in redone
    )
    assert f"redacted again: Incident {incident_id} (1 October 2026): a new action: clean" in redone
    assert OTHER_CHILD[1] not in redone
    assert run("transfers", "authorise", reference[:8], "--confirm")[0] == 0


def test_the_refusal_fits_an_audit_entry_however_many_records_changed() -> None:
    from exchange.audit.entry import MAX_DETAIL_STRING
    from exchange.transfers.review_changes import CHANGED, NEW, Change, refusal
    from exchange.transfers.text_redaction import TextJob

    changes = [
        Change(TextJob("action", 900_000 + n, "x"), 900_000 + n, date(2026, 10, 1), how)
        for n in range(40)
        for how in (NEW, CHANGED)
    ]
    words = refusal(changes)
    assert words.startswith("80 text(s) changed in the records after the review, in incident(s) ")
    assert "900000, 900001, 900002, 900003, 900004 and 35 more: redact them again" in words
    assert len(words) <= MAX_DETAIL_STRING


def test_after_delivery_redacting_again_is_refused_and_changes_nothing(
    instance: Instance, pair: Pair, transport: WsgiTransport
) -> None:
    from transfer_kit import run_transfer

    transfer_id = run_transfer(instance, pair, transport)
    change_records_after_review(instance, transfer_id)
    with instance.sessions() as session:
        before = sorted(
            (row.kind, row.object_id, row.text)
            for row in session.scalars(
                select(RedactedText).where(RedactedText.transfer_id == transfer_id)
            )
        )
    with pytest.raises(ActionRefused, match="not possible while the transfer"):
        _apply(instance, pair, transfer_id, "redact_changes")
    with instance.sessions() as session:
        after = sorted(
            (row.kind, row.object_id, row.text)
            for row in session.scalars(
                select(RedactedText).where(RedactedText.transfer_id == transfer_id)
            )
        )
        assert session.get(Transfer, transfer_id).state == "closed"
    assert after == before
