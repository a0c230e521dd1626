"""The texts of a redaction review: read in their defined order, redacted, and filed.

Pseudonyms are given in order of first use, so the order is part of the result: every
incident's narrative in the order the incidents happened (then by id), each followed by its
actions in the order they were taken, then the conversation summary; the vault documents
follow with the book these texts leave. The request (`redact_texts_now`) and the vault task
both go through here, so both file the same bytes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from exchange.records.models import Incident
from exchange.redaction.pipeline import RedactionBlocked, process_text
from exchange.redaction.pseudonyms import PseudonymBook
from exchange.transfers.models import RedactedText, RedactionReview, Transfer

# Filed in place of a text that failed its check: the review stays flagged and cannot be
# confirmed, so it never travels; the chronology's preview shows this instead.
WITHHELD = "[Withheld: this text failed its redaction check. Leave it out, or review again.]"


@dataclass(frozen=True)
class TextJob:
    """One text to redact: what it belongs to, and its words."""

    kind: str  # "incident", "action" or "conversation"
    object_id: int
    text: str


@dataclass(frozen=True)
class TextOutcome:
    """What redacting one text gave: the redacted words (None when blocked) and the report."""

    job: TextJob
    text: str | None
    report: dict[str, Any]
    flagged: bool


def text_groups(session: Session, transfer: Transfer) -> list[list[TextJob]]:
    """Return the texts to redact, one group per incident (then the conversation), in order."""
    ids = sorted(
        item.object_id for item in transfer.items if item.kind == "incident" and item.included
    )
    incidents = (
        session.scalars(
            select(Incident).where(Incident.id.in_(ids)).order_by(Incident.occurred_at, Incident.id)
        )
        if ids
        else []
    )
    groups = [
        [TextJob("incident", incident.id, incident.narrative)]
        + [TextJob("action", action.id, action.text) for action in incident.actions]
        for incident in incidents
    ]
    if transfer.conversation_summary:
        groups.append([TextJob("conversation", transfer.id, transfer.conversation_summary)])
    return groups


def source_digest(text: str | None) -> str:
    """Return the SHA-256 (hex) of a text as redaction reads it (None reads as empty)."""
    return hashlib.sha256((text or "").encode()).hexdigest()


def incident_count(groups: Sequence[Sequence[TextJob]]) -> int:
    """Return how many of the groups are incidents (the progress the DSL is shown)."""
    return sum(1 for group in groups if group and group[0].kind == "incident")


def redact_texts(
    groups: Sequence[Sequence[TextJob]],
    people: list,
    subject_id: str,
    book: PseudonymBook,
    progress: Callable[[int], None] | None = None,
) -> list[TextOutcome]:
    """Redact every text in order with one book; tell `progress` each incident done."""
    outcomes: list[TextOutcome] = []
    done = 0
    for group in groups:
        outcomes.extend(redact_text(job, people, subject_id, book) for job in group)
        if group and group[0].kind == "incident":
            done += 1
            if progress is not None:
                progress(done)
    return outcomes


def redact_text(job: TextJob, people: list, subject_id: str, book: PseudonymBook) -> TextOutcome:
    """Redact one text; a name still seen after redaction gives a blocked outcome."""
    try:
        result, report = process_text(
            job.text or "",
            people,
            subject_id=subject_id,
            book=book,
            document=f"{job.kind}:{job.object_id}",
        )
    except RedactionBlocked as blocked:
        return TextOutcome(job, None, blocked.report.to_dict(), True)
    return TextOutcome(job, result.text, report.to_dict(), result.needs_review)


def stopped(groups: Sequence[Sequence[TextJob]], message: str) -> list[TextOutcome]:
    """Return a blocked outcome for every text: the redaction stopped before it was sure."""
    report = {"status": "blocked", "flags": [{"reason": message}]}
    return [TextOutcome(job, None, report, True) for group in groups for job in group]


def file_texts(session: Session, transfer: Transfer, outcomes: Sequence[TextOutcome]) -> None:
    """Add each redacted text (or WITHHELD) and its review, in redaction order."""
    for outcome in outcomes:
        job = outcome.job
        session.add(
            RedactedText(
                school_id=transfer.school_id,
                transfer_id=transfer.id,
                kind=job.kind,
                object_id=job.object_id,
                text=WITHHELD if outcome.text is None else outcome.text,
                source_sha256=source_digest(job.text),
            )
        )
        session.add(
            RedactionReview(
                school_id=transfer.school_id,
                transfer_id=transfer.id,
                kind=job.kind,
                object_id=job.object_id,
                report=outcome.report,
                flagged=outcome.flagged,
            )
        )
