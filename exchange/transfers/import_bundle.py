"""Import a verified bundle into the receiving school's records, with its provenance."""

from __future__ import annotations

import json
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
from exchange.transfers.models import Transfer
from exchange.vault.pupil_keys import blob_context, pupil_data_key

TRANSFERRED_CATEGORY = "Transferred in"
MEDIA_TYPES = {".pdf": "application/pdf"}


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
        # exchange.records.history keeps the earlier text as a time-stamped edit.
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
