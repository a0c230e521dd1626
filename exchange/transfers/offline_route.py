"""The offline route: an AES zip for a school without the service, confirmed by a receipt code."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from exchange.db import utcnow
from exchange.errors import ValidationError
from exchange.jws import sign
from exchange.packaging.keys import load_signing_key, phone_fingerprint
from exchange.packaging.offline import check_receipt_code, export_offline
from exchange.records.models import Pupil
from exchange.transfers.bundle_step import make_chronology, vault_files_for
from exchange.transfers.offline_details import receiver_details, titled_vault_files
from exchange.transfers.workflow_types import Step

OFFLINE_RECEIPT = "sgx-offline-receipt+jws"


@dataclass(frozen=True)
class OfflinePackage:
    """Where the zip is, and the passphrase to read out by phone (shown once, never stored)."""

    path: Path
    passphrase: str
    file_count: int
    key_fingerprint: str = ""  # The form is signed with this key: read it out with the passphrase.

    def __repr__(self) -> str:
        return f"OfflinePackage(path={self.path}, files={self.file_count}, passphrase=<hidden>)"


def export_package(step: Step) -> OfflinePackage:
    """Write the AES-256 zip of an authorised offline transfer (the body of "export")."""
    session, instance, transfer = step.session, step.need_instance, step.need_transfer
    school = step.school
    pupil = session.get(Pupil, transfer.pupil_id)
    folder = instance.home / "outbox"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{transfer.transfer_uid}.zip"
    target.unlink(missing_ok=True)
    signing_key = load_signing_key(session, school.id, instance.instance_key)
    with tempfile.TemporaryDirectory(prefix="sgx-offline-") as work:
        vault_files = vault_files_for(session, instance, transfer, pupil, Path(work))
        exported = export_offline(
            target,
            make_chronology(session, transfer, school, pupil),
            titled_vault_files(session, transfer, pupil, vault_files),
            signing_key=signing_key,
            details=receiver_details(session, transfer, vault_files),
        )
    transfer.offline_code_hash = exported.receipt_code_sha256
    transfer.bundle_storage_key = target.name
    transfer.bundle_sha256 = exported.zip_sha256
    transfer.bundle_size = target.stat().st_size
    transfer.file_count = len(exported.files)
    step.details["zip_sha256"] = exported.zip_sha256
    return OfflinePackage(
        target, exported.passphrase, len(exported.files), phone_fingerprint(signing_key.key_id)
    )


def confirm_receipt_code(step: Step) -> str:
    """Check the code the receiving DSL read back and sign a receipt record of it."""
    session, instance, transfer = step.session, step.need_instance, step.need_transfer
    code = str(step.inputs.get("code") or "")
    confirmed_by = str(step.inputs.get("confirmed_by") or "")
    if not transfer.offline_code_hash:
        raise ValidationError("this transfer is not waiting for a receipt code")
    if not confirmed_by.strip():
        raise ValidationError("say who confirmed receipt (name and school)")
    if not check_receipt_code(transfer.offline_code_hash, code):
        raise ValidationError("the receipt code does not match: nothing was recorded")
    school = step.school
    now = utcnow()
    key = load_signing_key(session, school.id, instance.instance_key)
    record = {
        "v": 1,
        "transfer_id": transfer.transfer_uid,
        "sender": school.urn,
        "recipient": transfer.partner.reference,
        "zip_sha256": transfer.bundle_sha256,
        "file_count": transfer.file_count,
        "method": "receipt code",
        "confirmed_by": confirmed_by.strip()[:200],
        "confirmed_at": now.isoformat(),
        "entered_by_user_id": step.actor.user_id,
    }
    transfer.receipt_jws = sign(record, key, OFFLINE_RECEIPT)
    transfer.receipt_disposition = "complete"
    transfer.receipt_verified_at = now
    transfer.offline_confirmed_by = record["confirmed_by"]
    # The receiver has opened it; the sender keeps the hash, not another copy of the file.
    (instance.home / "outbox" / f"{transfer.transfer_uid}.zip").unlink(missing_ok=True)
    return transfer.receipt_jws
