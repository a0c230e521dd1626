"""What a receiver on another system needs in the offline zip: titles, roles and categories."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from exchange.packaging.content import VaultFile
from exchange.packaging.offline import ReceiverDetails
from exchange.policy.service import transfer_class_of
from exchange.records.models import Incident, Pupil, VaultDocument
from exchange.redaction.pipeline import RedactionBlocked, process_text
from exchange.redaction.pseudonyms import PseudonymBook
from exchange.transfers.models import Transfer
from exchange.transfers.people import people_to_consider, pupil_person_id
from exchange.transfers.redaction_step import included_ids


def titled_vault_files(
    session: Session, transfer: Transfer, pupil: Pupil, vault_files: Sequence[VaultFile]
) -> list[VaultFile]:
    """Return the vault files under their original titles, other people's names redacted."""
    people = people_to_consider(session, pupil)
    book = PseudonymBook(dict(transfer.pseudonyms or {}))
    titled = []
    for number, (document_id, vault_file) in enumerate(
        zip(included_ids(transfer, "document"), vault_files, strict=True), start=1
    ):
        document = session.get(VaultDocument, document_id)
        title = f"Document {number}"
        if document is not None and (document.original_filename or "").strip():
            try:
                result, _ = process_text(
                    document.original_filename,
                    people,
                    subject_id=pupil_person_id(pupil.id),
                    book=book,
                    document=f"title:{document_id}",
                )
                title = result.text
            except RedactionBlocked:
                pass  # A name the check still finds: keep the neutral title.
        titled.append(dataclasses.replace(vault_file, title=title))
    return titled


def receiver_details(
    session: Session, transfer: Transfer, vault_files: Sequence[VaultFile]
) -> ReceiverDetails:
    """Return each incident author's job title and each document's category path."""
    incident_ids = included_ids(transfer, "incident")
    incidents = (
        {
            incident.id: incident
            for incident in session.scalars(select(Incident).where(Incident.id.in_(incident_ids)))
        }
        if incident_ids
        else {}
    )
    roles = {
        f"I{incident.id}": incident.author.job_title or ""
        for incident in incidents.values()
        if incident.author is not None
    }
    shared = {
        f"I{incident.id}": found
        for incident in incidents.values()
        if (found := _shared_category(incident)) is not None
    }
    categories = {}
    for document_id, vault_file in zip(
        included_ids(transfer, "document"), vault_files, strict=True
    ):
        document = session.get(VaultDocument, document_id)
        incident = incidents.get(document.incident_id) if document else None
        if incident is not None and incident.categories:
            categories[vault_file.name] = incident.categories[0].path
    return ReceiverDetails(
        author_roles=roles, shared_categories=shared, document_categories=categories
    )


def _shared_category(incident: Incident) -> str | None:
    """Return the transfer class of the incident's first category that maps to one."""
    for category in incident.categories:
        if (found := transfer_class_of(category)) is not None:
            return found
    return None
