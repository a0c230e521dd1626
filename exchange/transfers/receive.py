"""Receive a bundle: verify it, import it all or nothing, and sign the receipt."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from sqlalchemy.orm import Session

from exchange.audit.service import record_event
from exchange.errors import ExchangeError, NotFound
from exchange.instance import Instance
from exchange.packaging.bundle import Bundle, Limits
from exchange.packaging.keys import load_encryption_keys
from exchange.partners.service import trusted_signing_keys
from exchange.receipts.signing import sign_receipt
from exchange.records.models import School
from exchange.retention.assign import recompute_pupil
from exchange.transfers import workflow
from exchange.transfers.actors import SYSTEM_ACTOR
from exchange.transfers.import_bundle import import_bundle
from exchange.transfers.incoming import find_transfer
from exchange.transfers.messages import Message
from exchange.transfers.models import INCOMING, Transfer
from exchange.vault.workdirs import process_work_dir


class UploadConflict(ExchangeError):
    """A different bundle for a transfer that already has a complete receipt."""

    code = "conflict"
    status_code = 409


@dataclass(frozen=True)
class Received:
    """The outcome of an upload: the signed receipt and whether it was new."""

    receipt_jws: str
    disposition: str
    new: bool


def sha256_file(path: Path) -> str:
    """Return the SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def receive_bundle(
    session: Session,
    instance: Instance,
    school: School,
    transfer_uid: str,
    body: Path,
    upload: Message,
) -> Received:
    """Handle one upload, idempotently: the same bytes again return the same receipt."""
    transfer = find_transfer(session, school.id, transfer_uid, INCOMING)
    if transfer is None or transfer.partner_id != upload.partner.id:
        raise NotFound("no transfer with this id is expected from the sending school")
    digest = sha256_file(body)
    if transfer.receipt_jws is not None:
        if transfer.bundle_sha256 == digest:
            return Received(transfer.receipt_jws, transfer.receipt_disposition or "", new=False)
        if transfer.receipt_disposition == "complete":
            raise UploadConflict("this transfer already has a complete receipt for other bytes")
    if not workflow.allowed(session, instance, transfer, "bundle_received", SYSTEM_ACTOR):
        raise UploadConflict(f"this transfer is {transfer.state}, not waiting for a bundle")
    signed = upload.payload
    sign_receipt = partial(_receipt, session, instance, school, transfer, digest)
    if signed.get("transfer_id") != transfer_uid:
        return sign_receipt(
            None,
            "rejected",
            "the upload names another transfer",
        )
    if signed.get("ciphertext_sha256") != digest:
        return sign_receipt(
            None,
            "rejected",
            "the bytes received are not the bytes the sender signed (changed in transit)",
        )
    try:
        bundle = Bundle.open(
            body,
            load_encryption_keys(session, school.id, instance.instance_key),
            list(trusted_signing_keys(session, upload.partner, include_retired=True).values()),
            expected_recipient=school.urn,
            limits=Limits(max_file_bytes=instance.config["MAX_VAULT_FILE_BYTES"]),
            expected_sender=upload.partner.urn,
            work_dir=process_work_dir(instance.home),
        )
    except ExchangeError as error:
        return sign_receipt(None, "rejected", error.message)
    with bundle:
        if bundle.manifest.transfer_id != transfer_uid:
            return sign_receipt(
                bundle,
                "rejected",
                "the bundle belongs to another transfer",
            )
        written: list[str] = []
        try:
            with session.begin_nested():
                import_bundle(session, instance, school, transfer, bundle, written)
                recompute_pupil(session, school.id, transfer.pupil_id)
        except ExchangeError as error:
            for storage_key in written:
                instance.blobs.delete(storage_key)
            return sign_receipt(
                bundle,
                "rejected",
                f"import failed: {error.message}",
            )
        record_event(
            session,
            school.id,
            None,
            "system",
            "transfer.imported",
            "transfer",
            transfer_uid,
            None,
            {"files": bundle.manifest.file_count},
        )
        return sign_receipt(bundle, "complete", None)


def _receipt(
    session: Session,
    instance: Instance,
    school: School,
    transfer: Transfer,
    digest: str,
    bundle: Bundle | None,
    disposition: str,
    reason: str | None,
) -> Received:
    token = sign_receipt(session, instance, school, transfer, digest, bundle, disposition, reason)
    if disposition == "complete":
        step = {"disposition": disposition}
        workflow.apply(session, instance, transfer, "bundle_received", SYSTEM_ACTOR, **step)
    else:
        record_event(
            session,
            school.id,
            None,
            "system",
            "transfer.bundle_refused",
            "transfer",
            transfer.transfer_uid,
            None,
            {"disposition": disposition},
        )
    return Received(token, disposition, new=True)
