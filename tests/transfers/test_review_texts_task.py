"""The incident texts move to the vault task: same bytes and pseudonyms, counted, waited for."""

from __future__ import annotations

import pytest
from review_texts_kit import add_incidents, filed, old_synchronous_texts
from sqlalchemy import select
from transfer_kit import Pair, actor
from vault_kit import add_vault_pdfs, review_without_running

from exchange.db import transaction
from exchange.errors import ExchangeError
from exchange.instance import Instance
from exchange.outbox.models import OutboxMessage
from exchange.outbox.service import written_in
from exchange.records.models import Pupil, School
from exchange.tasks import names
from exchange.transfers import states, vault_task, workflow
from exchange.transfers.bundle_step import make_chronology
from exchange.transfers.models import RedactedText, RedactionReview, Transfer
from exchange.transfers.redaction_progress import Counts
from exchange.transfers.redaction_step import unresolved_flags
from exchange.transfers.text_redaction import WITHHELD
from exchange.transfers.vault_task import redact_vault
from exchange.transfers.workflow_types import ActionRefused

INCIDENTS = 6  # Added to the kit's one.


def _vault_row(instance: Instance, pending: list[int]) -> int:
    with instance.sessions() as session:
        return session.scalars(
            select(OutboxMessage.id).where(
                OutboxMessage.id.in_(pending), OutboxMessage.task == names.REDACT_VAULT
            )
        ).one()


def _act(instance: Instance, pair: Pair, transfer_id: int, name: str, **inputs: object) -> None:
    with transaction(instance.sessions) as session:
        transfer = session.get(Transfer, transfer_id)
        workflow.apply(
            session, instance, transfer, name, actor(session, pair.sender_dsl_id), **inputs
        )


def test_the_task_files_the_same_texts_and_pseudonyms_as_the_old_request_did(
    instance: Instance, pair: Pair
) -> None:
    add_incidents(instance, pair.pupil_id, INCIDENTS)
    add_vault_pdfs(instance, pair.pupil_id, 2)
    transfer_id, pending = review_without_running(instance, pair)
    with instance.sessions() as session:
        assert (
            session.scalars(  # The request redacted nothing: no text, no review yet.
                select(RedactedText).where(RedactedText.transfer_id == transfer_id)
            ).all()
            == []
        )
    assert redact_vault(instance, transfer_id, _vault_row(instance, pending)) == "redacted"
    in_task = filed(instance, transfer_id)

    texts, book = old_synchronous_texts(instance, transfer_id)
    assert in_task["texts"] == texts  # Byte for byte, in the same order.
    assert len(texts) == 2 * (INCIDENTS + 1)
    assert set(book.items()) <= set(in_task["pseudonyms"].items())  # Texts name first.
    assert list(in_task["pseudonyms"])[: len(book)] == list(book)

    # The old path, texts in the request (as a batch still does), then the documents' task.
    with transaction(instance.sessions) as session:
        transfer = session.get(Transfer, transfer_id)
        dsl = actor(session, pair.sender_dsl_id)
        workflow.apply(session, instance, transfer, "back_to_draft", dsl)
        workflow.apply(session, instance, transfer, "start_review", dsl, redact_texts_now=True)
        assert (transfer.incidents_done, transfer.incidents_total) == (INCIDENTS + 1,) * 2
        pending = written_in(session)
    assert redact_vault(instance, transfer_id, _vault_row(instance, pending)) == "redacted"
    in_request = filed(instance, transfer_id)
    assert in_request == in_task  # Texts, reports, redacted documents' digests, pseudonyms.
    assert all(digest for kind, _, _, digest, _ in in_task["reviews"] if kind == "document")


def test_progress_counts_the_incidents_then_the_documents(instance: Instance, pair: Pair) -> None:
    add_incidents(instance, pair.pupil_id, INCIDENTS)
    add_vault_pdfs(instance, pair.pupil_id, 1)
    transfer_id, pending = review_without_running(instance, pair)
    with instance.sessions() as session:
        transfer = session.get(Transfer, transfer_id)
        assert (transfer.incidents_done, transfer.incidents_total) == (0, INCIDENTS + 1)
        assert (transfer.vault_done, transfer.vault_total) == (0, 2)
    seen: list[Counts] = []
    saved: list[int] = []

    def progress(counts: Counts) -> None:
        seen.append(counts)
        if counts.documents_done:  # By then the incidents' count is saved for the page.
            with instance.sessions() as session:
                saved.append(session.get(Transfer, transfer_id).incidents_done)

    redact_vault(instance, transfer_id, _vault_row(instance, pending), progress=progress)
    total = INCIDENTS + 1
    assert seen[0] == Counts(0, total, 0, 2)
    assert seen[-1] == Counts(total, total, 2, 2)
    assert [c.incidents_done for c in seen] == sorted(c.incidents_done for c in seen)
    assert all(c.incidents_done == total for c in seen if c.documents_done)
    assert Counts(total, total, 0, 2) in seen  # Every incident before any document.
    assert saved
    assert set(saved) == {total}
    assert seen[-1].words() == f"incidents: {total} of {total} done; documents: 2 of 2 done"


def test_the_precondition_names_the_incidents_still_being_redacted(
    instance: Instance, pair: Pair
) -> None:
    add_incidents(instance, pair.pupil_id, 2)
    transfer_id, _ = review_without_running(instance, pair)
    with pytest.raises(ActionRefused, match=r"still being redacted \(incidents: 0 of 3 done;"):
        _act(instance, pair, transfer_id, "offer")
    with pytest.raises(ActionRefused, match="still being redacted"):
        _act(instance, pair, transfer_id, "back_to_draft")
    with instance.sessions() as session:
        row = session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.task == names.REDACT_VAULT, OutboxMessage.transfer_id == transfer_id
            )
        ).one()
        assert row.args == [transfer_id]  # Ids only: no text, no name.
        row_id = row.id
    redact_vault(instance, transfer_id, row_id)
    _act(instance, pair, transfer_id, "offer")
    with instance.sessions() as session:
        assert session.get(Transfer, transfer_id).state == states.OFFERED


def test_a_text_phase_that_stops_flags_every_item_instead_of_waiting_forever(
    instance: Instance, pair: Pair, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_incidents(instance, pair.pupil_id, 2)
    transfer_id, pending = review_without_running(instance, pair)

    def stopped(*_args: object, **_options: object) -> None:
        raise RuntimeError("the worker stopped")

    with monkeypatch.context() as patch:
        patch.setattr(vault_task, "redact_texts", stopped)
        assert redact_vault(instance, transfer_id, _vault_row(instance, pending)) == "redacted"
    with instance.sessions() as session:
        transfer = session.get(Transfer, transfer_id)
        assert transfer.vault_queued_at is None
        flags = unresolved_flags(session, transfer)
        assert {r.kind for r in flags} == {"incident", "action", "document"}
        assert len(flags) == 3 * 2 + 1
        texts = [r for r in flags if r.kind != "document"]
        assert all(r.report["status"] == "blocked" for r in texts)
        assert "stopped (RuntimeError)" in texts[0].report["flags"][0]["reason"]
        withheld = session.scalars(
            select(RedactedText).where(RedactedText.transfer_id == transfer_id)
        ).all()
        assert {row.text for row in withheld} == {WITHHELD}  # Nothing of the source is kept.
        school, pupil = session.get(School, transfer.school_id), session.get(Pupil, pair.pupil_id)
        preview = make_chronology(session, transfer, school, pupil)  # The page's preview.
        assert WITHHELD in {entry.narrative for entry in preview.incidents}
        review_id = texts[0].id
    with pytest.raises(ExchangeError, match="a name is still in"):
        _act(instance, pair, transfer_id, "resolve_flag", review_id=review_id,
             resolution="confirmed", note="read it")  # fmt: skip
    # The DSL goes back to the draft and starts again; this time the task finishes.
    _, pending = review_without_running(instance, pair, transfer_id)
    assert redact_vault(instance, transfer_id, _vault_row(instance, pending)) == "redacted"
    with instance.sessions() as session:
        reviews = session.scalars(
            select(RedactionReview).where(RedactionReview.transfer_id == transfer_id)
        ).all()
        assert not any(r.report.get("status") == "blocked" for r in reviews)
