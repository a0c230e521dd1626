"""Records that changed after their review: found before an offer or authorisation, redacted again.

A school's records can change while a transfer waits for its answer: a nightly import from
the management information system adds an action or corrects a narrative, a follow-up from
an earlier school is merged or recalled. Each redacted text keeps a digest of the text it was
made from, so the change is found, and the departing DSL redacts and checks just those texts
again before anything is offered or authorised.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from exchange.errors import ValidationError
from exchange.records.models import Incident
from exchange.transfers.models import RedactedText, RedactionReview, Transfer
from exchange.transfers.people import people_to_consider, pupil_person_id
from exchange.transfers.redaction_step import pseudonym_book, subject_of
from exchange.transfers.steps import audit
from exchange.transfers.text_redaction import TextJob, file_texts, redact_text, source_digest
from exchange.transfers.workflow_types import Step

NEW = "new"
CHANGED = "changed"
NOTHING_CHANGED = "Nothing has changed in the records since the review: nothing to redact again"


@dataclass(frozen=True)
class Change:
    """One text that travels and differs from what was redacted: new, or changed since."""

    job: TextJob
    incident_id: int
    occurred_on: date
    how: str

    def words(self) -> str:
        """Say what changed by the incident's reference and date only (no content)."""
        what = "narrative" if self.job.kind == "incident" else "action"
        on = f"{self.occurred_on.day} {self.occurred_on:%B %Y}"
        incident = f"Incident {self.incident_id} ({on})"  # As the redaction review names it.
        if self.how == NEW:
            return f"{incident}: a new {what}"
        return f"{incident}: its {what} changed"


def changes_since_review(session: Session, transfer: Transfer) -> list[Change]:
    """Return the included incidents' texts that are new or changed since they were redacted."""
    ids = [i.object_id for i in transfer.items if i.kind == "incident" and i.included]
    if not ids:
        return []
    # Whole rows: the sealed digest is opened on load (a column select would give its bytes).
    rows = session.scalars(
        select(RedactedText).where(
            RedactedText.transfer_id == transfer.id, RedactedText.kind.in_(("incident", "action"))
        )
    ).all()
    if not rows:
        return []  # Not redacted yet: the review itself comes first.
    digests = {(row.kind, row.object_id): row.source_sha256 for row in rows}
    incidents = session.scalars(
        select(Incident).where(Incident.id.in_(ids)).order_by(Incident.occurred_at, Incident.id)
    )
    changes = []
    for incident in incidents:
        jobs = [TextJob("incident", incident.id, incident.narrative)] + [
            TextJob("action", action.id, action.text) for action in incident.actions
        ]
        for job in jobs:
            key = (job.kind, job.object_id)
            if key not in digests:
                changes.append(Change(job, incident.id, incident.occurred_at.date(), NEW))
            elif digests[key] is not None and digests[key] != source_digest(job.text):
                changes.append(Change(job, incident.id, incident.occurred_at.date(), CHANGED))
    return changes


def refusal(changes: list[Change]) -> str:
    """Return the words that stop an offer or authorisation (short: the audit keeps them)."""
    incidents = list(dict.fromkeys(change.incident_id for change in changes))
    named = ", ".join(str(number) for number in incidents[:5])
    more = f" and {len(incidents) - 5} more" if len(incidents) > 5 else ""
    return (
        f"{len(changes)} text(s) changed in the records after the review, in incident(s) "
        f"{named}{more}: redact them again and check the result before this step"
    )


def redact_again(step: Step) -> list[tuple[str, bool]]:
    """Redact the changed texts again with the transfer's pseudonyms; each gets a new review.

    Returns each change in words with whether its new review is flagged.
    """
    session, transfer = step.session, step.need_transfer
    changes = changes_since_review(session, transfer)
    if not changes:
        raise ValidationError(NOTHING_CHANGED)
    pupil = subject_of(session, transfer)
    for change in changes:
        for model in (RedactedText, RedactionReview):
            session.execute(
                delete(model).where(
                    model.transfer_id == transfer.id,
                    model.kind == change.job.kind,
                    model.object_id == change.job.object_id,
                )
            )
    book = pseudonym_book(transfer)
    people = people_to_consider(session, pupil)
    subject = pupil_person_id(pupil.id)
    outcomes = [redact_text(change.job, people, subject, book) for change in changes]
    file_texts(session, transfer, outcomes)
    transfer.pseudonyms = book.to_dict()
    audit(
        session,
        transfer,
        step.actor,
        "transfer.redaction_rerun",
        {
            "texts": len(outcomes),
            "new": sum(1 for change in changes if change.how == NEW),
            "flagged": sum(1 for outcome in outcomes if outcome.flagged),
            "incidents": sorted({change.incident_id for change in changes}),
        },
    )
    return [
        (change.words(), outcome.flagged) for change, outcome in zip(changes, outcomes, strict=True)
    ]
