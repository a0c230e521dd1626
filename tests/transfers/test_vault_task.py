"""The vault task: queued with ids only, run after commit, and waited for by the workflow."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from totp_kit import acting, enrol
from transfer_kit import Pair, actor
from vault_kit import add_vault_pdfs, review_without_running

from exchange.cli import main
from exchange.db import transaction
from exchange.instance import Instance
from exchange.outbox.models import OutboxMessage
from exchange.outbox.service import dispatch
from exchange.partners.service import find_partner
from exchange.records.models import Pupil, School, User
from exchange.tasks import names
from exchange.transfers import states, vault_task, workflow
from exchange.transfers.client import WsgiTransport
from exchange.transfers.effects import inline_sender
from exchange.transfers.models import RedactionReview, Transfer
from exchange.transfers.vault_task import DUPLICATE, redact_vault
from exchange.transfers.workflow_types import ActionRefused


def _vault_row(instance: Instance, pending: list[int]) -> int:
    with instance.sessions() as session:
        return session.scalars(
            select(OutboxMessage.id).where(
                OutboxMessage.id.in_(pending), OutboxMessage.task == names.REDACT_VAULT
            )
        ).one()


def _offer(instance: Instance, pair: Pair, transfer_id: int) -> None:
    with transaction(instance.sessions) as session:
        transfer = session.get(Transfer, transfer_id)
        workflow.apply(session, instance, transfer, "offer", actor(session, pair.sender_dsl_id))


def _document_digests(instance: Instance, transfer_id: int) -> list[tuple[int, str | None]]:
    with instance.sessions() as session:
        rows = session.scalars(
            select(RedactionReview)
            .where(RedactionReview.transfer_id == transfer_id, RedactionReview.kind == "document")
            .order_by(RedactionReview.object_id)
        )
        return [(row.object_id, row.redacted_sha256) for row in rows]


def test_the_review_returns_at_once_and_the_offer_waits_for_the_vault(
    instance: Instance, pair: Pair, transport: WsgiTransport
) -> None:
    add_vault_pdfs(instance, pair.pupil_id, 2)
    transfer_id, pending = review_without_running(instance, pair)
    with instance.sessions() as session:
        transfer = session.get(Transfer, transfer_id)
        assert transfer.state == states.REDACTION_REVIEW
        assert (transfer.vault_done, transfer.vault_total) == (0, 3)
        assert transfer.vault_queued_at is not None
        rows = session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(pending)))
        [row] = [row for row in rows if row.task == names.REDACT_VAULT]
        assert row.args == [transfer_id]  # An id, no name.
        pending = [row.id]
        assert _document_digests(instance, transfer_id) == []
    waiting = r"still being redacted \(incidents: 0 of 1 done; documents: 0 of 3 done\)"
    with pytest.raises(ActionRefused, match=waiting):
        _offer(instance, pair, transfer_id)

    assert dispatch(instance.sessions, inline_sender(instance, transport), pending) == 1
    with instance.sessions() as session:
        transfer = session.get(Transfer, transfer_id)
        assert transfer.vault_queued_at is None
        assert (transfer.vault_done, transfer.vault_total) == (3, 3)
        assert session.get(OutboxMessage, pending[0]).ran_at is not None
    digests = _document_digests(instance, transfer_id)
    assert len(digests) == 3
    assert all(digest for _, digest in digests)
    # A second send of the same row (after a crash) does nothing.
    assert redact_vault(instance, transfer_id, pending[0]) == DUPLICATE
    assert len(_document_digests(instance, transfer_id)) == 3
    _offer(instance, pair, transfer_id)


def test_one_process_or_two_file_the_same_redacted_bytes(instance: Instance, pair: Pair) -> None:
    add_vault_pdfs(instance, pair.pupil_id, 3)
    transfer_id, pending = review_without_running(instance, pair)
    assert (
        redact_vault(instance, transfer_id, _vault_row(instance, pending), workers=1) == "redacted"
    )
    one = _document_digests(instance, transfer_id)
    _, pending = review_without_running(instance, pair, transfer_id)
    assert (
        redact_vault(instance, transfer_id, _vault_row(instance, pending), workers=2) == "redacted"
    )
    two = _document_digests(instance, transfer_id)
    assert one == two
    assert len(one) == 4


def test_the_command_line_shows_progress_on_stderr(
    instance: Instance, pair: Pair, cli_env: dict[str, str]
) -> None:
    add_vault_pdfs(instance, pair.pupil_id, 1)
    with transaction(instance.sessions) as session:
        school = session.get(School, pair.sender_id)
        partner = find_partner(session, school.id, session.get(School, pair.receiver_id).urn)
        dsl = actor(session, pair.sender_dsl_id)
        pupil = session.get(Pupil, pair.pupil_id)
        transfer = workflow.start(
            session, instance, school, "create", dsl, pupil=pupil, partner=partner
        )
        reference = transfer.transfer_uid[:8]
        email = session.get(User, pair.sender_dsl_id).email
        urn = school.urn
    enrol(instance, email)
    result = CliRunner().invoke(
        main,
        ["--school", urn, "transfers", "review", reference,
         *acting(instance, email)],
        env=cli_env,
        catch_exceptions=False,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stderr.splitlines() if line.startswith("Redacting")]
    assert lines[0] == "Redacting: incidents: 0 of 1 done; documents: 0 of 2 done"
    assert "Redacting: incidents: 1 of 1 done; documents: 0 of 2 done" in lines
    assert lines[-1] == "Redacting: incidents: 1 of 1 done; documents: 2 of 2 done"
    assert len(re.findall(r"review \d+: document", result.stdout)) == 2


def test_a_pool_that_stops_flags_every_document_instead_of_waiting_forever(
    instance: Instance, pair: Pair, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_vault_pdfs(instance, pair.pupil_id, 1)
    transfer_id, pending = review_without_running(instance, pair)

    def worker_died(*_args: object, **_options: object) -> None:
        raise RuntimeError("a vault worker stopped (exit -9)")

    monkeypatch.setattr(vault_task, "redact_documents", worker_died)
    assert redact_vault(instance, transfer_id, _vault_row(instance, pending)) == "redacted"
    with instance.sessions() as session:
        assert session.get(Transfer, transfer_id).vault_queued_at is None
        flagged = session.scalars(
            select(RedactionReview).where(
                RedactionReview.transfer_id == transfer_id, RedactionReview.kind == "document"
            )
        ).all()
    assert len(flagged) == 2
    assert all(review.flagged and not review.redacted_storage_key for review in flagged)
    assert "the redaction stopped (RuntimeError)" in flagged[0].report["flags"][0]["reason"]
