"""Redact a transfer's vault documents in a pool of processes, with the same bytes at any size.

Each document is redacted, checked, converted and read (OCR) by `process_document` in its own
process. Pseudonyms are given in order of first use across the whole transfer, so a document's
output depends on what the documents before it named: every document first runs against the
book as the texts left it, the letters are then given in document order, and the few documents
that named a child first, and got other letters than that order gives, run again with the final
book. The outcome is the one a single process working in document order would reach.
"""

from __future__ import annotations

import dataclasses
import json
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from exchange.errors import ValidationError
from exchange.redaction.names import Person
from exchange.redaction.pseudonyms import PseudonymBook, letters_for
from exchange.transfers.vault_worker import person_to_json

# Called with (documents done, documents to do) as each one finishes.
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class VaultJob:
    """One document to redact: where it is, what it is, and where its redacted PDF goes."""

    source: str
    destination: str
    media_type: str
    document: str


@dataclass
class VaultOutcome:
    """What redacting one document gave: a report, and the book as the document left it."""

    status: str  # "published", "blocked" (a name still seen) or "invalid" (cannot be redacted)
    report: dict[str, Any]
    book: dict[str, str]
    new_ids: list[str] = field(default_factory=list)
    message: str = ""


def pool_size(configured: int = 0) -> int:
    """Return the processes to use: the setting, or one per CPU this process may run on."""
    if configured > 0:
        return configured
    counter = getattr(os, "process_cpu_count", None)  # Python 3.13 and later.
    if counter is not None:
        return max(1, counter() or 1)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # Not Linux.
        return max(1, os.cpu_count() or 1)


def redact_documents(
    jobs: Sequence[VaultJob],
    people: Sequence[Person],
    subject_id: str | None,
    book: dict[str, str],
    *,
    workers: int = 1,
    progress: Progress | None = None,
) -> tuple[list[VaultOutcome], dict[str, str]]:
    """Redact every job; return the outcomes in job order and the book they leave."""
    people = list(people)
    tell = progress or (lambda _done, _total: None)
    total = len(jobs)
    tell(0, total)
    outcomes = _run(jobs, people, subject_id, [book] * total, workers, 0, total, tell)
    final = dict(book)
    for outcome in outcomes:
        for person_id in outcome.new_ids:
            final.setdefault(person_id, letters_for(len(final)))
    again = [
        index
        for index, outcome in enumerate(outcomes)
        if any(outcome.book[pid] != final[pid] for pid in outcome.new_ids)
    ]
    if again:
        total += len(again)
        tell(len(jobs), total)
        rerun = _run(
            [jobs[i] for i in again],
            people,
            subject_id,
            [final] * len(again),
            workers,
            len(jobs),
            total,
            tell,
        )
        for index, outcome in zip(again, rerun, strict=True):
            outcomes[index] = outcome
    return outcomes, final


def _run(
    jobs: Sequence[VaultJob],
    people: list[Person],
    subject_id: str | None,
    books: Sequence[dict[str, str]],
    workers: int,
    done: int,
    total: int,
    tell: Progress,
) -> list[VaultOutcome]:
    results: list[VaultOutcome | None] = [None] * len(jobs)
    size = min(workers, len(jobs))
    if size <= 1:
        for index, job in enumerate(jobs):
            results[index] = redact_one(job, people, subject_id, books[index])
            done += 1
            tell(done, total)
        return [result for result in results if result is not None]
    waiting: queue.SimpleQueue[int] = queue.SimpleQueue()
    for index in range(len(jobs)):
        waiting.put(index)
    finished: queue.SimpleQueue[tuple[int, VaultOutcome | BaseException]] = queue.SimpleQueue()
    setup = json.dumps({"people": [person_to_json(p) for p in people], "subject_id": subject_id})
    threads = [
        threading.Thread(target=_serve, args=(setup, jobs, books, waiting, finished), daemon=True)
        for _ in range(size)
    ]
    for thread in threads:
        thread.start()
    for _ in range(len(jobs)):
        index, outcome = finished.get()
        if isinstance(outcome, BaseException):
            raise outcome
        results[index] = outcome
        done += 1
        tell(done, total)
    for thread in threads:
        thread.join()
    return [result for result in results if result is not None]


def _serve(
    setup: str,
    jobs: Sequence[VaultJob],
    books: Sequence[dict[str, str]],
    waiting: queue.SimpleQueue[int],
    finished: queue.SimpleQueue[tuple[int, VaultOutcome | BaseException]],
) -> None:
    """Feed one worker process jobs until none are left (runs in its own thread)."""
    index = -1
    with subprocess.Popen(
        [sys.executable, "-m", "exchange.transfers.vault_worker"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        encoding="utf-8",
    ) as worker:
        assert worker.stdin is not None
        assert worker.stdout is not None
        try:
            worker.stdin.write(setup + "\n")
            while True:
                try:
                    index = waiting.get_nowait()
                except queue.Empty:
                    break
                request = {"job": dataclasses.asdict(jobs[index]), "book": books[index]}
                worker.stdin.write(json.dumps(request) + "\n")
                worker.stdin.flush()
                answer = worker.stdout.readline()
                if not answer:
                    raise RuntimeError(f"a vault worker stopped (exit {worker.poll()})")
                finished.put((index, VaultOutcome(**json.loads(answer))))
                index = -1
        except BaseException as error:  # Reported to the pool's thread, which raises it.
            finished.put((index, error))
        finally:
            worker.stdin.close()


def redact_one(
    job: VaultJob, people: list[Person], subject_id: str | None, book: dict[str, str]
) -> VaultOutcome:
    """Redact one document with its own copy of the book (run in a pool process)."""
    from exchange.redaction.pipeline import RedactionBlocked, process_document

    own = PseudonymBook(book)
    try:
        report = process_document(
            job.source,
            job.destination,
            people,
            media_type=job.media_type,
            subject_id=subject_id,
            book=own,
            document=job.document,
        )
        outcome = VaultOutcome("published", report.to_dict(), {})
    except RedactionBlocked as blocked:
        outcome = VaultOutcome("blocked", blocked.report.to_dict(), {})
    except ValidationError as error:
        outcome = VaultOutcome("invalid", {}, {}, message=error.message)
    outcome.book = own.to_dict()
    outcome.new_ids = [pid for pid in outcome.book if pid not in book]
    return outcome
