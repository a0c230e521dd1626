"""Receipt and countersignature payloads (version 1), and the sender's checks on a receipt.

A receipt is a message (exchange.transfers.messages) of type sgx-receipt+jws whose body is:
transfer_id, offer_sha256, ciphertext_sha256, manifest_sha256, file_count, disposition
(complete | incomplete | rejected), missing (list of file names), reason, received_at,
signing_key_id and checkpoint (the receiver's latest signed audit checkpoint, or null).
The countersignature (sgx-countersignature+jws) carries transfer_id, receipt_sha256, the
receipt JWS itself, verified (true), and the sender's latest checkpoint.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from exchange.errors import ExchangeError

DISPOSITIONS = ("complete", "incomplete", "rejected")
RECEIPT_FIELDS = (
    "transfer_id",
    "offer_sha256",
    "ciphertext_sha256",
    "manifest_sha256",
    "file_count",
    "disposition",
    "missing",
    "reason",
    "received_at",
    "signing_key_id",
    "checkpoint",
)


class ReceiptMismatch(ExchangeError):
    """A receipt that does not match what the sender stored before sending."""

    code = "receipt_mismatch"
    status_code = 422


def sha256_text(text: str) -> str:
    """Return the SHA-256 of a JWS or other text, as the receipts quote it."""
    return hashlib.sha256(text.encode("ascii")).hexdigest()


@dataclass(frozen=True)
class Receipt:
    """What a receiver states it received."""

    transfer_id: str
    offer_sha256: str
    ciphertext_sha256: str
    manifest_sha256: str | None
    file_count: int | None
    disposition: str
    missing: tuple[str, ...]
    reason: str | None
    received_at: str
    signing_key_id: str
    checkpoint: str | None

    def body(self) -> dict[str, Any]:
        """Return the receipt body to sign."""
        return {
            "transfer_id": self.transfer_id,
            "offer_sha256": self.offer_sha256,
            "ciphertext_sha256": self.ciphertext_sha256,
            "manifest_sha256": self.manifest_sha256,
            "file_count": self.file_count,
            "disposition": self.disposition,
            "missing": list(self.missing),
            "reason": self.reason,
            "received_at": self.received_at,
            "signing_key_id": self.signing_key_id,
            "checkpoint": self.checkpoint,
        }

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Receipt:
        """Read a verified receipt payload, checking its fields."""
        missing_fields = [name for name in RECEIPT_FIELDS if name not in payload]
        if missing_fields:
            raise ReceiptMismatch(f"the receipt lacks {', '.join(missing_fields)}")
        if payload["disposition"] not in DISPOSITIONS:
            raise ReceiptMismatch(f"unknown disposition {payload['disposition']!r}")
        if not isinstance(payload["missing"], list):
            raise ReceiptMismatch("the receipt's missing list is not a list")
        return cls(
            transfer_id=str(payload["transfer_id"]),
            offer_sha256=str(payload["offer_sha256"]),
            ciphertext_sha256=str(payload["ciphertext_sha256"]),
            manifest_sha256=payload["manifest_sha256"],
            file_count=payload["file_count"],
            disposition=payload["disposition"],
            missing=tuple(str(name) for name in payload["missing"]),
            reason=payload["reason"],
            received_at=str(payload["received_at"]),
            signing_key_id=str(payload["signing_key_id"]),
            checkpoint=payload["checkpoint"],
        )


def check_against_sent(
    receipt: Receipt,
    *,
    transfer_id: str,
    offer_sha256: str,
    ciphertext_sha256: str,
    manifest_sha256: str,
    file_count: int,
) -> None:
    """Raise ReceiptMismatch unless a complete receipt quotes exactly what was sent."""
    expected = {
        "transfer_id": transfer_id,
        "offer_sha256": offer_sha256,
        "ciphertext_sha256": ciphertext_sha256,
    }
    for name, value in expected.items():
        if getattr(receipt, name) != value:
            raise ReceiptMismatch(f"the receipt's {name} differs from what was sent")
    if receipt.disposition == "complete":
        if receipt.manifest_sha256 != manifest_sha256:
            raise ReceiptMismatch("the receipt's manifest_sha256 differs from what was sent")
        if receipt.file_count != file_count:
            raise ReceiptMismatch(
                f"the receipt counts {receipt.file_count} files but {file_count} were sent"
            )
