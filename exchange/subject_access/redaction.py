"""Redact a response for its requester with the existing redactor and its independent checks."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from exchange.db import utcnow
from exchange.errors import ValidationError
from exchange.instance import Instance
from exchange.records.models import Incident, Pupil, VaultDocument
from exchange.redaction.names import Person
from exchange.redaction.pipeline import RedactionBlocked, process_pdf, process_text
from exchange.subject_access.models import SubjectAccessItem, SubjectAccessRequest
from exchange.subject_access.people import RequesterLabels, people_for
from exchange.vault.pupil_keys import blob_context, pupil_data_key

RESOLUTIONS = ("confirmed", "kept", "excluded")


def subject_of(session: Session, request: SubjectAccessRequest) -> Pupil:
    """Return the child the request is about, or refuse if their file is gone."""
    pupil = session.get(Pupil, request.pupil_id)
    if pupil is None or pupil.school_id != request.school_id:
        raise ValidationError("the child's records are no longer held at this school")
    return pupil


def redact_request(session: Session, instance: Instance, request: SubjectAccessRequest) -> None:
    """Redact every included item afresh; earlier reviews of the items are forgotten."""
    pupil = subject_of(session, request)
    people, subject_id, family = people_for(session, request, pupil)
    for item in request.items:
        _forget(instance, item)
        if not item.included:
            continue
        if item.kind == "incident":
            _redact_incident(session, item, people, subject_id, family)
        else:
            _redact_document(session, instance, item, pupil, people, subject_id, family)
    request.redacted_at = utcnow()


def _forget(instance: Instance, item: SubjectAccessItem) -> None:
    if item.redacted_storage_key:
        instance.blobs.delete(item.redacted_storage_key)
    for field in ("redacted_storage_key", "redacted_sha256", "redacted_size", "redacted", "report"):
        setattr(item, field, None)
    for field in ("resolution", "resolution_note", "resolved_by_user_id", "resolved_at"):
        setattr(item, field, None)
    item.flagged = False


def _redact_incident(
    session: Session,
    item: SubjectAccessItem,
    people: list[Person],
    subject_id: str,
    family: list[str],
    decide_all: str | None = None,
) -> None:
    incident = session.get(Incident, item.object_id)
    if incident is None:
        raise ValidationError(f"incident {item.object_id} is no longer held")
    texts = [("narrative", incident.narrative or "")] + [
        (f"action:{action.id}", action.text or "") for action in incident.actions
    ]
    redacted: dict[str, Any] = {"narrative": "", "actions": []}
    reports, pending = [], False
    for place, source in texts:
        decisions = None
        if decide_all:
            first, _ = _run_text(source, people, subject_id, family, None, place)
            decisions = {h.key: decide_all for h in first.hits if h.decision == "needs_review"}
        result, report = _run_text(source, people, subject_id, family, decisions, place)
        pending = pending or result.needs_review
        reports.append(report.to_dict())
        if place == "narrative":
            redacted["narrative"] = result.text
        else:
            action = next(a for a in incident.actions if f"action:{a.id}" == place)
            redacted["actions"].append({"at": action.acted_at.isoformat(), "text": result.text})
    item.redacted = redacted
    item.report = {"status": "needs_review" if pending else "clean", "texts": reports}
    item.flagged = pending


def _run_text(
    source: str,
    people: list[Person],
    subject_id: str,
    family: list[str],
    decisions: dict[str, str] | None,
    place: str,
) -> Any:
    try:
        return process_text(
            source,
            people,
            subject_id=subject_id,
            family_ids=family,
            book=RequesterLabels(),
            decisions=decisions,
            document=place,
        )
    except RedactionBlocked as blocked:
        raise ValidationError(f"the redaction of {place} failed its independent check") from blocked


def _redact_document(
    session: Session,
    instance: Instance,
    item: SubjectAccessItem,
    pupil: Pupil,
    people: list[Person],
    subject_id: str,
    family: list[str],
) -> None:
    document = session.get(VaultDocument, item.object_id)
    if document is None:
        raise ValidationError(f"document {item.object_id} is no longer held")
    if document.media_type != "application/pdf":
        item.flagged = True
        item.report = {"status": "needs_review", "flags": [{"reason": "not a PDF: check by hand"}]}
        return
    key = pupil_data_key(session, pupil, instance.instance_key)
    with tempfile.TemporaryDirectory(prefix="sgx-sar-") as folder:
        source, output = Path(folder) / "in.pdf", Path(folder) / "out.pdf"
        source.write_bytes(instance.blobs.read_all(key, blob_context(pupil), document.storage_key))
        try:
            report = process_pdf(
                source,
                output,
                people,
                subject_id=subject_id,
                family_ids=family,
                book=RequesterLabels(),
                document=f"document:{document.id}",
            )
        except RedactionBlocked as blocked:
            item.flagged = True
            item.report = blocked.report.to_dict()
            return
        except ValidationError as error:
            item.flagged = True
            item.report = {
                "status": "blocked",
                "flags": [{"reason": f"cannot be redacted: {error.message}"}],
            }
            return
        with output.open("rb") as handle:
            blob = instance.blobs.write(
                key, blob_context(pupil), handle, instance.config["MAX_VAULT_FILE_BYTES"]
            )
    item.report = report.to_dict()
    item.flagged = report.status != "clean"
    item.redacted_storage_key = blob.storage_key
    item.redacted_sha256 = blob.sha256
    item.redacted_size = blob.size


def resolve_item(
    session: Session,
    request: SubjectAccessRequest,
    item: SubjectAccessItem,
    resolution: str,
    note: str,
    user_id: int | None,
) -> None:
    """Record the DSL's decision on a flagged item: remove every doubtful name, keep, or exclude."""
    if resolution not in RESOLUTIONS:
        raise ValidationError(f"a decision is one of {', '.join(RESOLUTIONS)}")
    if not note.strip():
        raise ValidationError("say what was checked, or why")
    if not item.flagged:
        raise ValidationError("this item has no redaction flag to review")
    blocked = (item.report or {}).get("status") == "blocked"
    if item.kind == "document" and resolution == "confirmed" and blocked:
        raise ValidationError("a name is still in this document: leave it out, or withhold it")
    if resolution == "excluded":
        item.included = False
        item.reason = f"left out at the redaction review: {note.strip()}"
    elif item.kind == "incident":
        pupil = subject_of(session, request)
        people, subject_id, family = people_for(session, request, pupil)
        decision = "redact" if resolution == "confirmed" else "not_a_child"
        _redact_incident(session, item, people, subject_id, family, decide_all=decision)
    item.flagged = True
    item.resolution = resolution
    item.resolution_note = note.strip()
    item.resolved_by_user_id = user_id
    item.resolved_at = utcnow()


def removals(item: SubjectAccessItem) -> int:
    """Return how many names the redactor removed from an item (for the schedule's basis)."""
    report = item.report or {}
    count = len(report.get("removed", []))
    for text in report.get("texts", []):
        count += sum(1 for d in text.get("decisions", []) if d.get("decision") == "redacted")
    return count
