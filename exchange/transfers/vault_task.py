"""The vault step of the redaction review: redact every included document in a pool, then file it.

The Celery task and the in-process runner both call `redact_vault` with ids only. No database
transaction stays open while documents are redacted: the sources are read first, progress is
saved in short transactions as each document ends, and the reviews are written in one
transaction at the end, which also marks the outbox row run.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from sqlalchemy import update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from exchange.db import transaction
from exchange.instance import Instance
from exchange.logs import get_logger
from exchange.outbox.service import already_ran, mark_ran
from exchange.records.models import Pupil
from exchange.transfers import states
from exchange.transfers.actors import SYSTEM_ACTOR
from exchange.transfers.models import RedactionReview, Transfer
from exchange.transfers.people import people_to_consider, pupil_person_id
from exchange.transfers.redaction_step import vault_documents
from exchange.transfers.steps import audit
from exchange.transfers.vault_pool import (
    Progress,
    VaultJob,
    VaultOutcome,
    pool_size,
    redact_documents,
)
from exchange.vault.pupil_keys import blob_context, pupil_data_key

log = get_logger(__name__)
DUPLICATE = "already ran"
NOTHING_QUEUED = "nothing queued"
STALE = "superseded"


def redact_vault(
    instance: Instance,
    transfer_id: int,
    outbox_id: int | None = None,
    *,
    workers: int | None = None,
    progress: Progress | None = None,
) -> str:
    """Redact a transfer's queued vault documents and file their reviews; return what happened."""
    with transaction(instance.sessions) as session:
        if already_ran(session, outbox_id):
            return DUPLICATE
    size = pool_size(instance.config.get("VAULT_WORKERS", 0) if workers is None else workers)
    with tempfile.TemporaryDirectory(prefix="sgx-vault-") as folder:
        loaded = _load(instance, transfer_id, Path(folder))
        if loaded is None:
            _finish_nothing(instance, outbox_id)
            return NOTHING_QUEUED
        queued_at, jobs, document_ids, people, subject_id, book = loaded
        try:
            outcomes, final = redact_documents(
                jobs,
                people,
                subject_id,
                book,
                workers=size,
                progress=_saver(instance, transfer_id, progress),
            )
        except OperationalError:
            raise  # The database went away: the task is tried again.
        except Exception as error:  # A worker died: flag every document rather than wait forever.
            log.exception("vault redaction stopped", extra={"transfer_id": transfer_id})
            stopped = f"the redaction stopped ({type(error).__name__}): review again, or exclude"
            outcomes = [VaultOutcome("invalid", {}, {}, message=stopped) for _ in jobs]
            final = book
        with transaction(instance.sessions) as session:
            if already_ran(session, outbox_id):
                return DUPLICATE
            transfer = session.get(Transfer, transfer_id, with_for_update=True)
            if (
                transfer is None
                or transfer.vault_queued_at != queued_at
                or transfer.state != states.REDACTION_REVIEW
            ):
                mark_ran(session, outbox_id)
                return STALE
            _file(session, instance, transfer, document_ids, jobs, outcomes)
            transfer.pseudonyms = final
            transfer.vault_queued_at = None
            transfer.vault_done = transfer.vault_total
            audit(
                session,
                transfer,
                SYSTEM_ACTOR,
                "transfer.vault_redacted",
                {"documents": len(jobs), "processes": size},
            )
            mark_ran(session, outbox_id)
    log.info("vault redacted", extra={"transfer_id": transfer_id, "documents": len(jobs)})
    return "redacted"


def _load(
    instance: Instance, transfer_id: int, folder: Path
) -> tuple[object, list[VaultJob], list[int], list, str, dict[str, str]] | None:
    """Decrypt each included document into the private work folder; None if nothing waits."""
    with instance.sessions() as session:
        transfer = session.get(Transfer, transfer_id)
        if transfer is None or transfer.vault_queued_at is None:
            return None
        pupil = session.get(Pupil, transfer.pupil_id)
        if pupil is None:
            return None
        key = pupil_data_key(session, pupil, instance.instance_key)
        jobs: list[VaultJob] = []
        document_ids: list[int] = []
        for index, document in enumerate(vault_documents(session, transfer)):
            source = folder / f"in-{index}"
            source.write_bytes(
                instance.blobs.read_all(key, blob_context(pupil), document.storage_key)
            )
            jobs.append(
                VaultJob(
                    str(source),
                    str(folder / f"out-{index}.pdf"),
                    document.media_type,
                    f"document:{document.id}",
                )
            )
            document_ids.append(document.id)
        people = people_to_consider(session, pupil)
        return (
            transfer.vault_queued_at,
            jobs,
            document_ids,
            people,
            pupil_person_id(pupil.id),
            dict(transfer.pseudonyms or {}),
        )


def _saver(instance: Instance, transfer_id: int, progress: Progress | None) -> Progress:
    """Return a callback that saves how many documents are done, for the DSL's page."""

    def save(done: int, total: int) -> None:
        with transaction(instance.sessions) as session:
            session.execute(
                update(Transfer)
                .where(Transfer.id == transfer_id, Transfer.vault_queued_at.is_not(None))
                .values(vault_done=done, vault_total=total)
            )
        if progress is not None:
            progress(done, total)

    return save


def _file(
    session: Session,
    instance: Instance,
    transfer: Transfer,
    document_ids: list[int],
    jobs: list[VaultJob],
    outcomes: list[VaultOutcome],
) -> None:
    """Store each published PDF encrypted, and one review per document, in document order."""
    pupil = session.get(Pupil, transfer.pupil_id)
    assert pupil is not None
    key = pupil_data_key(session, pupil, instance.instance_key)
    for document_id, job, outcome in zip(document_ids, jobs, outcomes, strict=True):
        review = RedactionReview(
            school_id=transfer.school_id,
            transfer_id=transfer.id,
            kind="document",
            object_id=document_id,
            report=outcome.report,
        )
        if outcome.status == "invalid":
            review.flagged = True
            review.report = {
                "status": "needs_review",
                "flags": [{"reason": f"cannot be redacted: {outcome.message}"}],
            }
        elif outcome.status == "blocked":
            review.flagged = True
        else:
            with Path(job.destination).open("rb") as handle:
                blob = instance.blobs.write(
                    key, blob_context(pupil), handle, instance.config["MAX_VAULT_FILE_BYTES"]
                )
            review.flagged = outcome.report.get("status") != "clean"
            review.redacted_storage_key = blob.storage_key
            review.redacted_sha256 = blob.sha256
            review.redacted_size = blob.size
        session.add(review)


def _finish_nothing(instance: Instance, outbox_id: int | None) -> None:
    with transaction(instance.sessions) as session:
        mark_ran(session, outbox_id)
