"""Build a transfer's bundle from its redacted content, and keep what the sender must keep."""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Callable
from datetime import datetime, time
from pathlib import Path
from typing import BinaryIO
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from exchange.db import utcnow
from exchange.errors import ExchangeError
from exchange.instance import Instance
from exchange.packaging import content
from exchange.packaging.build import build_bundle
from exchange.packaging.keys import load_signing_key
from exchange.partners.service import trusted_encryption_key
from exchange.policy.service import transfer_class_of
from exchange.records.models import Incident, Pupil, School, User, VaultDocument
from exchange.transfers.actors import Actor
from exchange.transfers.follow_ups import change_of, previous_delivery, sent_before
from exchange.transfers.models import RedactedText, RedactionReview, Transfer
from exchange.transfers.redaction_step import (
    documents_without_redacted_copy,
    included_ids,
    no_redacted_copy_message,
)
from exchange.transfers.steps import audit
from exchange.vault.pseudonyms import pupil_reference
from exchange.vault.pupil_keys import blob_context, pupil_data_key

LONDON = ZoneInfo("Europe/London")


class BundleWriteError(ExchangeError):
    """The bundle could not be written (for example, the disk is full); nothing was kept."""

    code = "bundle_write_error"
    status_code = 507


class UnredactedDocument(ExchangeError):
    """A document that would travel has no redacted copy; its original is never sent."""

    code = "unredacted_document"
    status_code = 409


def outbox_path(instance: Instance, transfer: Transfer) -> Path:
    """Return where the sender keeps the exact bytes it sends."""
    folder = instance.home / "outbox"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{transfer.transfer_uid}.age"


def build_transfer_bundle(
    session: Session, instance: Instance, transfer: Transfer, actor: Actor
) -> None:
    """Write the encrypted bundle and store its hashes before anything is sent."""
    school = session.get(School, transfer.school_id)
    pupil = session.get(Pupil, transfer.pupil_id)
    chronology = make_chronology(session, transfer, school, pupil)
    target = outbox_path(instance, transfer)
    partial = target.with_suffix(".partial")
    try:
        with tempfile.TemporaryDirectory(prefix="sgx-build-") as folder:
            vault_files = vault_files_for(session, instance, transfer, pupil, Path(folder))
            with partial.open("wb") as output:
                built = build_bundle(
                    output,
                    chronology=chronology,
                    vault_files=vault_files,
                    signing_key=load_signing_key(session, school.id, instance.instance_key),
                    recipient_key=trusted_encryption_key(session, transfer.partner),
                    pupil_ref=pupil_reference(instance.instance_key, school.id, pupil.upn),
                )
        partial.replace(target)
    except ExchangeError:
        partial.unlink(missing_ok=True)
        raise
    except Exception as error:  # Disk full, or the encryption library failing to write.
        partial.unlink(missing_ok=True)
        cause = "the disk is full" if "No space left" in str(error) else type(error).__name__
        raise BundleWriteError(f"the bundle could not be written: {cause}") from error
    transfer.bundle_storage_key = target.name
    transfer.bundle_sha256 = built.ciphertext_sha256
    transfer.bundle_size = built.ciphertext_size
    transfer.manifest_sha256 = hashlib.sha256(built.manifest_bytes).hexdigest()
    transfer.file_count = built.manifest.file_count
    audit(
        session,
        transfer,
        actor,
        "transfer.bundle_built",
        {"ciphertext_sha256": built.ciphertext_sha256, "files": built.manifest.file_count},
    )


def make_chronology(
    session: Session, transfer: Transfer, school: School, pupil: Pupil
) -> content.Chronology:
    """Assemble the already-redacted chronology that the receiving school will read."""
    texts = {
        (row.kind, row.object_id): row.text
        for row in session.scalars(
            select(RedactedText).where(RedactedText.transfer_id == transfer.id)
        )
    }
    authoriser = (
        session.get(User, transfer.authorised_by_user_id)
        if transfer.authorised_by_user_id
        else None
    )
    partner = transfer.partner
    previous = previous_delivery(session, transfer)
    sent = sent_before(session, transfer) if previous is not None else {}
    return content.Chronology(
        transfer_id=transfer.transfer_uid,
        sender=content.SchoolRef(school.urn, school.name, school.laestab),
        recipient=content.SchoolRef(partner.reference, partner.name, partner.laestab),
        pupil=content.PupilSummary(
            display_name=f"{pupil.preferred_name or pupil.forename} {pupil.surname}",
            date_of_birth=pupil.date_of_birth,
            upn=pupil.upn,
            year_group=pupil.year_group,
        ),
        authorised_by=authoriser.name if authoriser else "",
        authorised_at=transfer.authorised_at or utcnow(),
        generated_at=utcnow(),
        incidents=tuple(_incidents(session, transfer, texts, sent)),
        conversation=_conversation(transfer, texts),
        redaction=_redaction_summary(session, transfer),
        follows=previous.transfer_uid if previous is not None else None,
    )


def _incidents(
    session: Session,
    transfer: Transfer,
    texts: dict[tuple[str, int], str],
    sent: dict[tuple[str, int], str],
) -> list[content.Incident]:
    ids = included_ids(transfer, "incident")
    records = session.scalars(select(Incident).where(Incident.id.in_(ids))).all() if ids else []
    result = []
    for record in records:
        paths = [category.path for category in record.categories]
        result.append(
            content.Incident(
                ref=f"I{record.id}",
                occurred_at=record.occurred_at,
                category=paths[0] if paths else "Uncategorised",
                subcategories=tuple(paths[1:]),
                narrative=texts[("incident", record.id)],
                recorded_at=record.recorded_at,
                author=record.author.name if record.author else "",
                status=record.status,
                agencies=tuple(record.agencies or ()),
                body_map=record.body_map,
                actions=tuple(
                    content.Action(
                        taken_at=action.acted_at,
                        author=action.author.name if action.author else "",
                        text=texts[("action", action.id)],
                    )
                    for action in record.actions
                ),
                edits=tuple(
                    content.Edit(
                        edited_at=edit.edited_at,
                        editor="",
                        note=f"{edit.field} edited",
                    )
                    for edit in record.edits
                ),
                transfer_class=_shared_class(record),
                change=change_of(session, sent, "incident", record.id),
            )
        )
    return result


def _shared_class(record: Incident) -> str | None:
    """Return the first transfer class among the record's categories (the shared vocabulary)."""
    for category in record.categories:
        found = transfer_class_of(category)
        if found is not None:
            return found
    return None


def _conversation(
    transfer: Transfer, texts: dict[tuple[str, int], str]
) -> content.Conversation | None:
    if transfer.conversation_held_on is None:
        return None
    return content.Conversation(
        held_at=datetime.combine(transfer.conversation_held_on, time(12, 0), LONDON),
        participants=tuple(
            p.strip() for p in (transfer.conversation_participants or "").split(",") if p.strip()
        ),
        summary=texts.get(("conversation", transfer.id), ""),
    )


def _redaction_summary(session: Session, transfer: Transfer) -> content.RedactionSummary:
    reviews = session.scalars(
        select(RedactionReview).where(RedactionReview.transfer_id == transfer.id)
    ).all()
    replaced = sum(
        1
        for review in reviews
        for decision in review.report.get("decisions", [])
        if decision.get("decision") == "redact"
    )
    removals = sum(
        len(review.report.get("removed", [])) for review in reviews if review.kind == "document"
    )
    return content.RedactionSummary(
        names_replaced=replaced,
        people_pseudonymised=len(transfer.pseudonyms or {}),
        pdf_text_removals=removals,
        flags_resolved=sum(1 for review in reviews if review.flagged and review.resolution),
    )


def vault_files_for(
    session: Session, instance: Instance, transfer: Transfer, pupil: Pupil, folder: Path
) -> list[content.VaultFile]:
    """Decrypt each included document's redacted form into a private temp folder, hashing it.

    Refuse, before anything is read, when a document has no redacted copy: the workflow's
    precondition says so to the DSL first, and this is the second line (an original never goes).
    """
    missing = documents_without_redacted_copy(session, transfer)
    if missing:
        raise UnredactedDocument(no_redacted_copy_message(missing))
    key = pupil_data_key(session, pupil, instance.instance_key)
    reviews = {
        review.object_id: review
        for review in session.scalars(
            select(RedactionReview).where(
                RedactionReview.transfer_id == transfer.id, RedactionReview.kind == "document"
            )
        )
    }
    files = []
    for number, document_id in enumerate(included_ids(transfer, "document"), start=1):
        document = session.get(VaultDocument, document_id)
        storage_key = reviews[document_id].redacted_storage_key
        if not storage_key:  # Checked above; never fall back to the original.
            raise UnredactedDocument(no_redacted_copy_message([document_id]))
        # A redacted document is always a PDF, whatever the original was.
        media_type, extension = "application/pdf", ".pdf"
        path = folder / f"{number:04d}{extension}"
        digest, size = hashlib.sha256(), 0
        with path.open("wb") as handle:
            for chunk in instance.blobs.read(key, blob_context(pupil), storage_key):
                digest.update(chunk)
                size += len(chunk)
                handle.write(chunk)
        files.append(
            content.VaultFile(
                name=f"vault/{number:04d}{extension}",
                title=f"Document {number} ({media_type})",
                opener=_opener(path),
                document_date=document.created_at.date(),
                sha256=digest.hexdigest(),
                size=size,
            )
        )
    return files


def _opener(path: Path) -> Callable[[], BinaryIO]:
    return lambda: path.open("rb")
