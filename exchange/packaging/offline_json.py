"""chronology.json of the offline export, version 2 (schema: docs/schemas/offline-chronology)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from importlib import resources
from typing import TYPE_CHECKING, Any

from exchange.packaging.content import Chronology, Incident, SchoolRef
from exchange.packaging.offline_documents import TitledDocument

if TYPE_CHECKING:
    from exchange.packaging.offline import ReceiverDetails

FORMAT = "sgx-offline-chronology"
VERSION = 2
SCHEMA_ID = "urn:safeguarding-exchange:schema:offline-chronology:2"


def schema_bytes() -> bytes:
    """Return the published JSON Schema of chronology.json (docs/schemas holds the same file)."""
    return (
        resources.files("exchange.packaging") / "schemas" / "offline-chronology.schema.json"
    ).read_bytes()


def _school(school: SchoolRef) -> dict[str, Any]:
    return {"reference": school.urn, "name": school.name, "laestab": school.laestab}


def _incident(incident: Incident, details: ReceiverDetails) -> dict[str, Any]:
    return {
        "ref": incident.ref,
        "occurred_at": incident.occurred_at.isoformat(),
        "recorded_at": incident.recorded_at.isoformat() if incident.recorded_at else None,
        "category": incident.category,
        "shared_category": details.shared_categories.get(incident.ref),
        "subcategories": list(incident.subcategories),
        "narrative": incident.narrative,
        "author": incident.author,
        "author_role": details.author_roles.get(incident.ref, ""),
        "status": incident.status,
        "agencies": list(incident.agencies),
        "body_map": incident.body_map,
        "actions": [
            {"taken_at": a.taken_at.isoformat(), "author": a.author, "text": a.text}
            for a in incident.actions
        ],
        "edits": [
            {"edited_at": e.edited_at.isoformat(), "editor": e.editor, "note": e.note}
            for e in incident.edits
        ],
    }


def offline_chronology_json(
    chronology: Chronology,
    documents: Sequence[TitledDocument],
    details: ReceiverDetails,
    documents_zip: str,
) -> bytes:
    """Return chronology.json: UTF-8, indented, incidents in time order."""
    pupil = chronology.pupil
    conversation = chronology.conversation
    body = {
        "$schema": SCHEMA_ID,
        "format": FORMAT,
        "version": VERSION,
        "transfer_id": chronology.transfer_id,
        "generated_at": chronology.generated_at.isoformat(),
        "authorised_at": chronology.authorised_at.isoformat(),
        "authorised_by": chronology.authorised_by,
        "sender": _school(chronology.sender),
        "recipient": _school(chronology.recipient),
        "pupil": {
            "display_name": pupil.display_name,
            "date_of_birth": pupil.date_of_birth.isoformat() if pupil.date_of_birth else None,
            "upn": pupil.upn,
            "year_group": pupil.year_group,
        },
        "incidents": [_incident(incident, details) for incident in chronology.in_time_order()],
        "conversation": None
        if conversation is None
        else {
            "held_at": conversation.held_at.isoformat(),
            "participants": list(conversation.participants),
            "summary": conversation.summary,
            "recorded_by": conversation.recorded_by,
        },
        "documents": [
            {
                "file": f"{documents_zip}/{document.file_name}",
                "title": document.entry.title,
                "date": (
                    document.entry.document_date.isoformat()
                    if document.entry.document_date
                    else None
                ),
                "category": document.category,
                "size": document.entry.size,
                "sha256": document.entry.sha256,
            }
            for document in documents
        ],
        "redaction": chronology.redaction.to_json(),
    }
    return (json.dumps(body, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
