"""Sign a receipt (receiver), verify it and countersign it (sender), check a countersignature.

The transfer workflow's effects and the school-to-school API call these; no other module
signs or checks a receipt.
"""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy.orm import Session

from exchange import jws
from exchange.audit.service import make_checkpoint
from exchange.db import utcnow
from exchange.instance import Instance
from exchange.packaging.bundle import Bundle
from exchange.packaging.keys import load_signing_key
from exchange.partners.service import trusted_signing_keys
from exchange.receipts.receipt import Receipt, ReceiptMismatch, check_against_sent, sha256_text
from exchange.records.models import School
from exchange.transfers.messages import COUNTERSIGNATURE, RECEIPT, MessageRefused, sign_message
from exchange.transfers.models import Transfer

COUNTERSIGNED_FIELDS = ("transfer_id", "receipt_sha256", "receipt", "verified", "checkpoint")


def sign_receipt(
    session: Session,
    instance: Instance,
    school: School,
    transfer: Transfer,
    digest: str,
    bundle: Bundle | None,
    disposition: str,
    reason: str | None,
) -> str:
    """Sign the receiver's receipt for the bytes received and keep it on the transfer."""
    key = load_signing_key(session, school.id, instance.instance_key)
    checkpoint = make_checkpoint(session, school.id, key)
    receipt = Receipt(
        transfer_id=transfer.transfer_uid,
        offer_sha256=transfer.offer_sha256 or "",
        ciphertext_sha256=digest,
        manifest_sha256=hashlib.sha256(bundle.manifest_bytes).hexdigest() if bundle else None,
        file_count=bundle.manifest.file_count if bundle else None,
        disposition=disposition,
        missing=(),
        reason=reason,
        received_at=utcnow().isoformat(),
        signing_key_id=key.key_id,
        checkpoint=checkpoint.jws,
    )
    token = sign_message(receipt.body(), key, RECEIPT, school.urn, transfer.partner.urn)
    transfer.receipt_jws = token
    transfer.receipt_disposition = disposition
    transfer.bundle_sha256 = digest
    transfer.manifest_sha256 = receipt.manifest_sha256
    transfer.file_count = receipt.file_count
    transfer.reject_reason = reason
    return token


def verify_receipt(session: Session, school: School, transfer: Transfer, token: str) -> Receipt:
    """Verify the receiver's receipt: its signature, its schools and, if complete, our hashes."""
    keys = trusted_signing_keys(session, transfer.partner, include_retired=True)
    payload = jws.verify(token, keys, RECEIPT)
    if payload.get("aud") != school.urn or payload.get("iss") != transfer.partner.urn:
        raise ReceiptMismatch("the receipt is not from the receiving school to us")
    receipt = Receipt.from_payload(payload)
    if receipt.transfer_id != transfer.transfer_uid:
        raise ReceiptMismatch("the receipt is for another transfer")
    if receipt.disposition == "complete":
        check_against_sent(
            receipt,
            transfer_id=transfer.transfer_uid,
            offer_sha256=transfer.offer_sha256 or "",
            ciphertext_sha256=transfer.bundle_sha256 or "",
            manifest_sha256=transfer.manifest_sha256 or "",
            file_count=transfer.file_count or 0,
        )
    return receipt


def countersign(
    session: Session, instance: Instance, school: School, transfer: Transfer, token: str
) -> str:
    """Sign our countersignature of a verified receipt and keep both on the transfer."""
    key = load_signing_key(session, school.id, instance.instance_key)
    checkpoint = make_checkpoint(session, school.id, key)
    transfer.receipt_jws = token
    transfer.receipt_verified_at = utcnow()
    transfer.countersignature_jws = sign_message(
        {
            "transfer_id": transfer.transfer_uid,
            "receipt_sha256": sha256_text(token),
            "receipt": token,
            "verified": True,
            "checkpoint": checkpoint.jws,
        },
        key,
        COUNTERSIGNATURE,
        school.urn,
        transfer.partner.urn,
    )
    return transfer.countersignature_jws


def refresh_countersignature(
    session: Session, instance: Instance, school: School, transfer: Transfer
) -> str:
    """Sign the same countersignature afresh when the stored one is too old to be accepted."""
    payload = jws.unverified_payload(transfer.countersignature_jws or "")
    body: dict[str, Any] = {k: payload[k] for k in COUNTERSIGNED_FIELDS}
    key = load_signing_key(session, school.id, instance.instance_key)
    transfer.countersignature_jws = sign_message(
        body, key, COUNTERSIGNATURE, school.urn, transfer.partner.urn
    )
    return transfer.countersignature_jws


def check_countersignature(transfer: Transfer, body: dict[str, Any]) -> None:
    """Refuse a countersignature that does not quote our receipt, by its bytes and hash."""
    if transfer.receipt_jws is None or body.get("receipt") != transfer.receipt_jws:
        raise MessageRefused("the countersignature does not quote our receipt")
    if (
        body.get("receipt_sha256") != sha256_text(transfer.receipt_jws)
        or body.get("verified") is not True
    ):
        raise MessageRefused("the countersignature's receipt hash or verdict is wrong")
