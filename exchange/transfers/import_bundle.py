"""Import a verified bundle into the receiving school's records, with its provenance."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from exchange.errors import NotFound, ValidationError
from exchange.instance import Instance
from exchange.packaging.bundle import Bundle
from exchange.packaging.serialize import check_chronology_version
from exchange.policy.incoming import mapped_category
from exchange.policy.service import add_category, find_category
from exchange.records.history import as_text, merged_by, restoring_after_recall
from exchange.records.models import (
    Category,
    Incident,
    IncidentAction,
    IncidentEdit,
    Pupil,
    School,
    VaultDocument,
)
from exchange.records.sealed_reads import upn_is
from exchange.records.upn import validate_upn
from exchange.retention.transfer_minimise import drop_redactions
from exchange.transfers.models import Transfer
from exchange.vault.pupil_keys import blob_context, pupil_data_key
from exchange.vault.store import BlobStore

TRANSFERRED_CATEGORY = "Transferred in"
MEDIA_TYPES = {".pdf": "application/pdf"}
# What a later edit keeps as the value it replaced when that value was recalled.
RECALLED_TEXT = "[recalled by the sending school: destroyed]"
# The mark left on a record whose merged value was changed here before the recall.
KEPT_NOTE = "kept: changed here after the follow-up the sending school recalled; review it"
# Fields a recall can set back from the text an edit keeps.
RESTORABLE = frozenset({"narrative", "status"})


def import_bundle(
    session: Session,
    instance: Instance,
    school: School,
    transfer: Transfer,
    bundle: Bundle,
    written: list[str],
) -> Pupil:
    """Create the child's records from the bundle in the caller's transaction; return the pupil.

    The storage keys of blobs written are appended to `written`, for the caller to remove if
    the transaction is rolled back.
    """
    chronology = _json(bundle, "chronology.json")
    try:
        check_chronology_version(chronology)
    except ValueError as error:
        raise ValidationError(str(error)) from error
    conversation = _json(bundle, "conversation.json")
    if chronology.get("transfer_id") != transfer.transfer_uid:
        raise ValidationError("the chronology belongs to another transfer")
    pupil = _match_or_create_pupil(session, school, transfer, chronology.get("pupil") or {})
    source = f"transfer:{transfer.partner.urn}"
    fallback = _transferred_category(session, school)
    for entry in chronology.get("incidents", []):
        category = mapped_category(session, school, entry.get("transfer_class")) or fallback
        earlier = _received_before(session, school, pupil, source, str(entry.get("ref", "")))
        if earlier is not None:
            _merge_incident(session, school, transfer, earlier, entry)
        else:
            _import_incident(session, school, pupil, transfer, source, category, entry)
    key = pupil_data_key(session, pupil, instance.instance_key)
    limit = instance.config["MAX_VAULT_FILE_BYTES"]
    for name in ["chronology.pdf"] + [
        f.name for f in bundle.manifest.files if f.name.startswith("vault/")
    ]:
        entry = bundle.manifest.entry(name)
        with bundle.path(name).open("rb") as handle:
            blob = instance.blobs.write(key, blob_context(pupil), handle, limit)
        written.append(blob.storage_key)
        if blob.sha256 != entry.sha256:
            raise ValidationError(f"{name} changed while it was stored")
        if name != "chronology.pdf" and _document_held(session, pupil, source, blob.sha256):
            continue  # A follow-up resent a document this child's file already holds.
        session.add(
            VaultDocument(
                school_id=school.id,
                pupil_id=pupil.id,
                source_system=source,
                source_id=f"{transfer.transfer_uid}/{name}",
                original_filename=name.rsplit("/", 1)[-1],
                media_type=MEDIA_TYPES.get(name[name.rfind(".") :], "application/octet-stream"),
                size=blob.size,
                sha256=blob.sha256,
                storage_key=blob.storage_key,
            )
        )
    held = (conversation.get("conversation") or {}) if isinstance(conversation, dict) else {}
    if held:
        transfer.conversation_summary = str(held.get("summary", ""))
        transfer.conversation_participants = ", ".join(held.get("participants", []))
        transfer.conversation_held_on = _held_on(held.get("held_at"))
    transfer.pupil_id = pupil.id
    session.flush()
    return pupil


def _held_on(value: object) -> date | None:
    """Return the day the DSL conversation was held, from its RFC 3339 time (or None)."""
    try:
        return datetime.fromisoformat(value).date() if isinstance(value, str) else None
    except ValueError:
        return None


def _json(bundle: Bundle, name: str) -> dict[str, Any]:
    try:
        value = json.loads(bundle.read_bytes(name))
    except (KeyError, ValueError) as exc:
        raise ValidationError(f"{name} is missing or not JSON") from exc
    if not isinstance(value, dict):
        raise ValidationError(f"{name} is not a JSON object")
    return value


def _match_or_create_pupil(
    session: Session, school: School, transfer: Transfer, summary: dict[str, Any]
) -> Pupil:
    upn = validate_upn(str(summary.get("upn") or transfer.pupil_upn))
    if upn != transfer.pupil_upn:
        raise ValidationError("the bundle's pupil is not the one offered")
    pupil = session.scalar(
        select(Pupil).where(Pupil.school_id == school.id, upn_is(session, school.id, upn))
    )
    if pupil is not None:
        return pupil
    names = str(summary.get("display_name") or "").split()
    pupil = Pupil(
        school_id=school.id,
        source_system=f"transfer:{transfer.partner.urn}",
        source_id=transfer.transfer_uid,
        upn=upn,
        forename=" ".join(names[:-1]) or "(unknown)",
        surname=names[-1] if names else "(unknown)",
        date_of_birth=transfer.pupil_dob,
        year_group=summary.get("year_group"),
        other_names=[],
    )
    session.add(pupil)
    session.flush()
    return pupil


def _transferred_category(session: Session, school: School) -> Category:
    try:
        return find_category(session, school, TRANSFERRED_CATEGORY)
    except NotFound:
        pass
    try:
        with session.begin_nested():
            return add_category(
                session, school, TRANSFERRED_CATEGORY, transfer_class="other_transfer"
            )
    except IntegrityError:
        # Another import created it at the same moment: use theirs.
        return find_category(session, school, TRANSFERRED_CATEGORY)


def _import_incident(
    session: Session,
    school: School,
    pupil: Pupil,
    transfer: Transfer,
    source: str,
    category: Category,
    entry: dict[str, Any],
) -> None:
    ref = str(entry.get("ref", ""))
    incident = Incident(
        school_id=school.id,
        pupil_id=pupil.id,
        source_system=source,
        source_id=f"{transfer.transfer_uid}/{ref}",
        occurred_at=datetime.fromisoformat(entry["occurred_at"]),
        recorded_at=datetime.fromisoformat(entry.get("recorded_at") or entry["occurred_at"]),
        narrative=str(entry.get("narrative", "")),
        source_category=_sender_labels(entry)[:300] or None,
        status=entry.get("status") if entry.get("status") in ("open", "closed") else "closed",
        agencies=[str(a) for a in entry.get("agencies", [])],
        body_map=bool(entry.get("body_map")),
    )
    incident.categories.append(category)
    session.add(incident)
    session.flush()
    for number, action in enumerate(entry.get("actions", []), start=1):
        session.add(
            IncidentAction(
                school_id=school.id,
                incident_id=incident.id,
                source_id=f"{ref}/{number}",
                text=str(action.get("text", "")),
                acted_at=datetime.fromisoformat(action["taken_at"]),
            )
        )
    for edit in entry.get("edits", []):
        session.add(
            IncidentEdit(
                school_id=school.id,
                incident_id=incident.id,
                edited_at=datetime.fromisoformat(edit["edited_at"]),
                field="at the sending school",
                previous_value=None,
                new_value=str(edit.get("note", "")),
            )
        )


def _sender_labels(entry: dict[str, Any]) -> str:
    labels = [str(entry.get("category", ""))] + [str(s) for s in entry.get("subcategories", [])]
    return "; ".join(label for label in labels if label)


def _received_before(
    session: Session, school: School, pupil: Pupil, source: str, ref: str
) -> Incident | None:
    """Return the incident an earlier transfer from the same school brought for this record."""
    if not ref:
        return None
    return session.scalar(
        select(Incident)
        .where(
            Incident.school_id == school.id,
            Incident.pupil_id == pupil.id,
            Incident.source_system == source,
            Incident.source_id.endswith(f"/{ref}", autoescape=True),
        )
        .order_by(Incident.id.desc())
    )


def _merge_incident(
    session: Session,
    school: School,
    transfer: Transfer,
    incident: Incident,
    entry: dict[str, Any],
) -> None:
    """Bring a follow-up's version of a record into the one received before, as an edit."""
    narrative = str(entry.get("narrative", ""))
    if narrative != incident.narrative:
        # exchange.records.history keeps the earlier text as a time-stamped edit, naming this
        # transfer so that its recall can undo the merge (undo_merges).
        with merged_by(session, transfer.id):
            incident.narrative = narrative
    held = {(action.acted_at, action.text) for action in incident.actions}
    ref = incident.source_id.rsplit("/", 1)[-1] if incident.source_id else ""
    for number, action in enumerate(entry.get("actions", []), start=1):
        acted_at = datetime.fromisoformat(action["taken_at"])
        text = str(action.get("text", ""))
        if any(at == acted_at and held_text == text for at, held_text in held):
            continue
        session.add(
            IncidentAction(
                school_id=school.id,
                incident_id=incident.id,
                source_id=f"{ref}/{transfer.transfer_uid}/{number}",
                text=text,
                acted_at=acted_at,
            )
        )


@dataclass
class Undone:
    """What undoing a recalled follow-up's merges did: counts only, no content."""

    actions: int = 0
    edits: int = 0
    restored: int = 0
    superseded: int = 0
    kept: list[int] = field(default_factory=list)
    later_edits_cleared: int = 0

    def details(self) -> dict[str, Any]:
        """Return the counts for the audit log (incident ids kept, no text)."""
        return {
            "actions_removed": self.actions,
            "edits_removed": self.edits,
            "values_restored": self.restored,
            "superseded_by_a_later_follow_up": self.superseded,
            "kept_changed_here": len(self.kept),
            "kept_incident_ids": self.kept,
            "later_edits_cleared": self.later_edits_cleared,
        }


def undo_merges(session: Session, blobs: BlobStore, transfer: Transfer) -> Undone:
    """Undo what a recalled follow-up merged into records an earlier transfer brought.

    Its actions are deleted; each value it replaced is set back, as a visible edit, unless the
    value was changed here since (then it is kept and marked for review); its own edit rows go,
    and a later edit that replaced the recalled value no longer keeps it.
    """
    undone = Undone()
    source = f"transfer:{transfer.partner.urn}"
    actions = session.scalars(
        select(IncidentAction)
        .join(Incident, Incident.id == IncidentAction.incident_id)
        .where(
            IncidentAction.school_id == transfer.school_id,
            Incident.source_system == source,
            IncidentAction.source_id.contains(f"/{transfer.transfer_uid}/", autoescape=True),
        )
    ).all()
    drop_redactions(session, blobs, "action", [action.id for action in actions])
    for action in actions:
        session.delete(action)
    undone.actions = len(actions)
    merged = session.scalars(
        select(IncidentEdit)
        .where(
            IncidentEdit.school_id == transfer.school_id,
            IncidentEdit.merged_by_transfer_id == transfer.id,
        )
        .order_by(IncidentEdit.id)
    ).all()
    for edit in merged:
        _undo_edit(session, edit, undone)
    session.flush()
    return undone


def _undo_edit(session: Session, edit: IncidentEdit, undone: Undone) -> None:
    incident = edit.incident
    recalled = edit.new_value
    later = [e for e in incident.edits if e.id > edit.id and e.field == edit.field]
    for after in later:
        if recalled is not None and after.previous_value == recalled:
            # A later follow-up replaced it: as if the recalled one had never come. A change
            # made here keeps a mark instead: its author saw the recalled text, not the earlier.
            after.previous_value = (
                edit.previous_value if after.merged_by_transfer_id is not None else RECALLED_TEXT
            )
            undone.later_edits_cleared += 1
    session.delete(edit)
    undone.edits += 1
    current = as_text(getattr(incident, edit.field))
    if edit.field in RESTORABLE and current == recalled:
        with restoring_after_recall(session, {(incident.id, edit.field)}):
            setattr(incident, edit.field, edit.previous_value)
        undone.restored += 1
        return
    if later and all(after.merged_by_transfer_id is not None for after in later):
        undone.superseded += 1  # A later follow-up from the same school replaced it.
        return
    undone.kept.append(incident.id)
    session.add(
        IncidentEdit(
            incident=incident,
            school_id=incident.school_id,
            field=edit.field,
            previous_value=KEPT_NOTE,
            new_value=None,
        )
    )


def _document_held(session: Session, pupil: Pupil, source: str, sha256: str) -> bool:
    """Return whether this child's file already holds a document with these bytes."""
    return (
        session.scalar(
            select(VaultDocument.id).where(
                VaultDocument.pupil_id == pupil.id,
                VaultDocument.source_system == source,
                VaultDocument.sha256 == sha256,
            )
        )
        is not None
    )
