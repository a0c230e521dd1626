"""The offline route: an AES zip for a school without the service, confirmed by a receipt code."""

from __future__ import annotations

import io
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
from exchange.vault.pupil_keys import blob_context, pupil_data_key

OFFLINE_RECEIPT = "sgx-offline-receipt+jws"
MAX_FORM_BYTES = 20 * 1024 * 1024
FORM_TYPES = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
)


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
    return _confirm_with_code(step, "receipt code", entered_by=step.actor.user_id)


def confirm_on_download_page(step: Step) -> str:
    """Check the code the receiving DSL typed on the download page and sign a receipt of it."""
    return _confirm_with_code(step, "receipt code on the download page", entered_by=None)


def record_signed_form(step: Step) -> str:
    """Keep the transfer form the receiving school signed and sent back; sign a receipt of it."""
    session, instance, transfer = step.session, step.need_instance, step.need_transfer
    form = step.inputs.get("form")
    if not isinstance(form, bytes) or not form:
        raise ValidationError("choose the signed transfer form to upload (PDF, PNG or JPEG)")
    if len(form) > MAX_FORM_BYTES:
        raise ValidationError("the signed form is larger than 20 MB: scan it at a lower resolution")
    media_type = form_media_type(form)
    pupil = session.get(Pupil, transfer.pupil_id)
    key = pupil_data_key(session, pupil, instance.instance_key)
    blob = instance.blobs.write(key, blob_context(pupil), io.BytesIO(form), MAX_FORM_BYTES)
    transfer.signed_form_storage_key = blob.storage_key
    transfer.signed_form_sha256 = blob.sha256
    transfer.signed_form_media_type = media_type
    extra = {"v": 2, "form_sha256": blob.sha256, "form_media_type": media_type}
    return _sign_receipt(step, "signed transfer form", step.actor.user_id, extra)


def form_media_type(form: bytes) -> str:
    """Return the media type of an uploaded signed form by its first bytes; refuse others."""
    for magic, media_type in FORM_TYPES:
        if form.startswith(magic):
            return media_type
    raise ValidationError("the signed form must be a PDF, PNG or JPEG file (a scan or a photo)")


def _confirm_with_code(step: Step, method: str, entered_by: int | None) -> str:
    transfer = step.need_transfer
    code = str(step.inputs.get("code") or "")
    if not transfer.offline_code_hash:
        raise ValidationError("this transfer is not waiting for a receipt code")
    _confirmed_by(step)
    if not check_receipt_code(transfer.offline_code_hash, code):
        raise ValidationError("the receipt code does not match: nothing was recorded")
    return _sign_receipt(step, method, entered_by, {})


def _confirmed_by(step: Step) -> str:
    confirmed_by = str(step.inputs.get("confirmed_by") or "").strip()
    if not confirmed_by:
        raise ValidationError("say who confirmed receipt (name and school)")
    return confirmed_by[:200]


def _sign_receipt(step: Step, method: str, entered_by: int | None, extra: dict[str, object]) -> str:
    session, instance, transfer = step.session, step.need_instance, step.need_transfer
    confirmed_by = _confirmed_by(step)
    school = step.school
    now = utcnow()
    key = load_signing_key(session, school.id, instance.instance_key)
    record = receipt_record(
        transfer_id=transfer.transfer_uid,
        sender=school.urn,
        recipient=transfer.partner.reference,
        zip_sha256=transfer.bundle_sha256,
        file_count=transfer.file_count,
        method=method,
        confirmed_by=confirmed_by,
        confirmed_at=now.isoformat(),
        entered_by=entered_by,
        extra=extra,
    )
    transfer.receipt_jws = sign(record, key, OFFLINE_RECEIPT)
    transfer.receipt_disposition = "complete"
    transfer.receipt_verified_at = now
    transfer.offline_confirmed_by = confirmed_by
    # The receiver has opened it; the sender keeps the hash, not another copy of the file.
    (instance.home / "outbox" / f"{transfer.transfer_uid}.zip").unlink(missing_ok=True)
    return transfer.receipt_jws


def receipt_record(
    *,
    transfer_id: str,
    sender: str,
    recipient: str,
    zip_sha256: str | None,
    file_count: int | None,
    method: str,
    confirmed_by: str,
    confirmed_at: str,
    entered_by: int | None,
    extra: dict[str, object],
) -> dict[str, object]:
    """Return the offline receipt record the school signs (docs/offline-export.md)."""
    return {
        "v": 1,
        "transfer_id": transfer_id,
        "sender": sender,
        "recipient": recipient,
        "zip_sha256": zip_sha256,
        "file_count": file_count,
        "method": method,
        "confirmed_by": confirmed_by,
        "confirmed_at": confirmed_at,
        "entered_by_user_id": entered_by,
        **extra,
    }
