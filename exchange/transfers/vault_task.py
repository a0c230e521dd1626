"""The background step of the redaction review: the incident texts, then the vault documents.

The Celery task and the in-process runner both call `redact_vault` with ids only. The texts are
redacted in this process in their defined order (exchange.transfers.text_redaction), then every
included document in a pool, starting from the book the texts left. No database transaction
stays open meanwhile: the sources are read first, progress is saved in short transactions, and
the reviews are written in one transaction at the end, which also marks the outbox row run.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import exists, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from exchange.db import transaction
from exchange.instance import Instance
from exchange.logs import get_logger
from exchange.outbox.service import already_ran, mark_ran
from exchange.records.models import Pupil
from exchange.redaction.pseudonyms import PseudonymBook
from exchange.transfers import states
from exchange.transfers.actors import SYSTEM_ACTOR
from exchange.transfers.models import RedactionReview, Transfer
from exchange.transfers.people import people_to_consider, pupil_person_id
from exchange.transfers.redaction_progress import Counts, CountsProgress
from exchange.transfers.redaction_step import vault_documents
from exchange.transfers.steps import audit
from exchange.transfers.text_redaction import (
    TextJob,
    TextOutcome,
    file_texts,
    incident_count,
    redact_texts,
    stopped,
    text_groups,
)
from exchange.transfers.vault_pool import (
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
SAVE_EVERY_SECONDS = 0.5  # How often the incidents' progress is saved for the DSL's page.


@dataclass
class Loaded:
    """What the task read before redacting: sources, the people to look for, and the book."""

    queued_at: datetime
    groups: list[list[TextJob]]
    jobs: list[VaultJob]
    document_ids: list[int]
    people: list
    subject_id: str
    book: dict[str, str]

    def counts(self, incidents_done: int, documents_done: int, documents_total: int) -> Counts:
        """Return the progress as the DSL and the command line see it."""
        return Counts(incidents_done, incident_count(self.groups), documents_done, documents_total)


def redact_vault(
    instance: Instance,
    transfer_id: int,
    outbox_id: int | None = None,
    *,
    workers: int | None = None,
    progress: CountsProgress | None = None,
) -> str:
    """Redact a transfer's queued texts and documents, file their reviews; say what happened."""
    with transaction(instance.sessions) as session:
        if already_ran(session, outbox_id):
            return DUPLICATE
    size = pool_size(instance.config.get("VAULT_WORKERS", 0) if workers is None else workers)
    with tempfile.TemporaryDirectory(prefix="sgx-vault-") as folder:
        loaded = _load(instance, transfer_id, Path(folder))
        if loaded is None:
            _finish_nothing(instance, outbox_id)
            return NOTHING_QUEUED
        texts, outcomes, final = _redact(instance, transfer_id, loaded, size, progress)
        with transaction(instance.sessions) as session:
            if already_ran(session, outbox_id):
                return DUPLICATE
            transfer = session.get(Transfer, transfer_id, with_for_update=True)
            if (
                transfer is None
                or transfer.vault_queued_at != loaded.queued_at
                or transfer.state != states.REDACTION_REVIEW
            ):
                mark_ran(session, outbox_id)
                return STALE
            file_texts(session, transfer, texts)
            _file(session, instance, transfer, loaded.document_ids, loaded.jobs, outcomes)
            transfer.pseudonyms = final
            transfer.vault_queued_at = None
            transfer.incidents_done = transfer.incidents_total
            transfer.vault_done = transfer.vault_total
            audit(
                session,
                transfer,
                SYSTEM_ACTOR,
                "transfer.vault_redacted",
                {
                    "incidents": incident_count(loaded.groups),
                    "documents": len(loaded.jobs),
                    "processes": size,
                },
            )
            mark_ran(session, outbox_id)
    log.info(
        "vault redacted",
        extra={
            "transfer_id": transfer_id,
            "incidents": incident_count(loaded.groups),
            "documents": len(loaded.jobs),
        },
    )
    return "redacted"


def _redact(
    instance: Instance,
    transfer_id: int,
    loaded: Loaded,
    size: int,
    progress: CountsProgress | None,
) -> tuple[list[TextOutcome], list[VaultOutcome], dict[str, str]]:
    """Redact the texts, then the documents from the book they leave; flag what a stop left."""
    book = PseudonymBook(dict(loaded.book))
    try:
        texts = redact_texts(
            loaded.groups,
            loaded.people,
            loaded.subject_id,
            book,
            progress=_text_saver(instance, transfer_id, loaded, progress),
        )
    except OperationalError:
        raise  # The database went away: the task is tried again.
    except Exception as error:  # Flag every item rather than wait forever, or guess.
        log.exception("text redaction stopped", extra={"transfer_id": transfer_id})
        name = type(error).__name__
        again = f"the redaction stopped ({name}): go back to the draft and start the review again"
        return stopped(loaded.groups, again), _invalid(loaded.jobs, name), book.to_dict()
    try:
        outcomes, final = redact_documents(
            loaded.jobs,
            loaded.people,
            loaded.subject_id,
            book.to_dict(),
            workers=size,
            progress=_saver(instance, transfer_id, loaded, progress),
        )
    except OperationalError:
        raise
    except Exception as error:  # A worker died: flag every document rather than wait forever.
        log.exception("vault redaction stopped", extra={"transfer_id": transfer_id})
        return texts, _invalid(loaded.jobs, type(error).__name__), book.to_dict()
    return texts, outcomes, final


def _invalid(jobs: list[VaultJob], name: str) -> list[VaultOutcome]:
    stop = f"the redaction stopped ({name}): review again, or exclude"
    return [VaultOutcome("invalid", {}, {}, message=stop) for _ in jobs]


def _load(instance: Instance, transfer_id: int, folder: Path) -> Loaded | None:
    """Read the queued texts, decrypt each document into the work folder; None if nothing waits."""
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
        # Reviews already filed mean the request redacted the texts (a batch): only documents.
        texts_done = session.scalar(
            select(exists().where(RedactionReview.transfer_id == transfer_id))
        )
        return Loaded(
            transfer.vault_queued_at,
            [] if texts_done else text_groups(session, transfer),
            jobs,
            document_ids,
            people_to_consider(session, pupil),
            pupil_person_id(pupil.id),
            dict(transfer.pseudonyms or {}),
        )


def _text_saver(
    instance: Instance, transfer_id: int, loaded: Loaded, progress: CountsProgress | None
) -> Callable[[int], None]:
    """Return a callback that saves how many incidents are done, at most twice a second."""
    total = incident_count(loaded.groups)
    last = time.monotonic()

    def save(done: int) -> None:
        nonlocal last
        if done < total and time.monotonic() - last < SAVE_EVERY_SECONDS:
            return
        last = time.monotonic()
        with transaction(instance.sessions) as session:
            session.execute(
                update(Transfer)
                .where(Transfer.id == transfer_id, Transfer.vault_queued_at.is_not(None))
                .values(incidents_done=done)
            )
        if progress is not None:
            progress(loaded.counts(done, 0, len(loaded.jobs)))

    if progress is not None and total:
        progress(loaded.counts(0, 0, len(loaded.jobs)))
    return save


def _saver(
    instance: Instance, transfer_id: int, loaded: Loaded, progress: CountsProgress | None
) -> Callable[[int, int], None]:
    """Return a callback that saves how many documents are done, for the DSL's page."""
    incidents = incident_count(loaded.groups)

    def save(done: int, total: int) -> None:
        with transaction(instance.sessions) as session:
            session.execute(
                update(Transfer)
                .where(Transfer.id == transfer_id, Transfer.vault_queued_at.is_not(None))
                .values(vault_done=done, vault_total=total)
            )
        if progress is not None and (total or not incidents):
            progress(loaded.counts(incidents, done, total))

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
        if review.flagged:
            _log_flag(transfer.id, document_id, outcome)
        session.add(review)


def _log_flag(transfer_id: int, document_id: int, outcome: VaultOutcome) -> None:
    """Log why a document needs the DSL, by reason code only (no names, no page text)."""
    report = outcome.report or {}
    reasons = {flag.get("reason", "") for flag in report.get("flags", [])}
    if outcome.status == "invalid":
        reasons = {outcome.message}  # Our own refusal's words; the file is named by `where`.
    log.info(
        "vault document flagged",
        extra={
            "transfer_id": transfer_id,
            "document_id": document_id,
            "outcome": outcome.status,
            "reasons": sorted(reasons),
            "check_sources": sorted(
                {hit.get("source", "") for hit in report.get("check", {}).get("hits", [])}
            ),
        },
    )


def _finish_nothing(instance: Instance, outbox_id: int | None) -> None:
    with transaction(instance.sessions) as session:
        mark_ran(session, outbox_id)
