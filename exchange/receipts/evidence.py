"""The evidence pack: both signatures and both public keys, checkable offline for years.

Layout of a pack folder (version 1):
    receipt.jws                 the receiving school's signed receipt
    countersignature.jws        the sending school's countersignature (quotes the receipt)
    receiver-signing.pem        the receiving school's Ed25519 public key (SubjectPublicKeyInfo)
    sender-signing.pem          the sending school's Ed25519 public key
    receipt.signing-input, receipt.sig, countersignature.signing-input, countersignature.sig
                                the JWS signing inputs and raw signatures, for openssl
    receipt.pdf                 a printable summary
    README.txt                  how to check the pack with openssl
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from exchange import jws
from exchange.errors import ExchangeError, ValidationError
from exchange.packaging.keys import SigningPublicKey
from exchange.receipts.receipt import Receipt, sha256_text
from exchange.transfers.messages import COUNTERSIGNATURE, RECEIPT

PACK_FILES = ("receipt.jws", "countersignature.jws", "receiver-signing.pem", "sender-signing.pem")
README = """Evidence pack of a safeguarding file transfer (format 1).

Check it with this service:   exchange receipts verify .
Check it with OpenSSL alone (3.x):
  openssl pkeyutl -verify -rawin -pubin -inkey receiver-signing.pem \\
      -in receipt.signing-input -sigfile receipt.sig
  openssl pkeyutl -verify -rawin -pubin -inkey sender-signing.pem \\
      -in countersignature.signing-input -sigfile countersignature.sig
Then compare the key fingerprints (SHA-256 of the raw public keys) with those the two
schools' DSLs confirmed by phone: they are printed by `exchange receipts verify`.
"""


class InvalidEvidence(ExchangeError):
    """An evidence pack that does not prove what it claims."""

    code = "invalid_evidence"


@dataclass(frozen=True)
class Evidence:
    """What a verified pack proves."""

    receipt: Receipt
    sender_urn: str
    receiver_urn: str
    sender_key_id: str
    receiver_key_id: str
    countersigned_at: int

    def summary(self) -> dict[str, Any]:
        """Return the facts a DPO reads."""
        return {
            "transfer_id": self.receipt.transfer_id,
            "sender": self.sender_urn,
            "receiver": self.receiver_urn,
            "disposition": self.receipt.disposition,
            "files": self.receipt.file_count,
            "ciphertext_sha256": self.receipt.ciphertext_sha256,
            "manifest_sha256": self.receipt.manifest_sha256,
            "received_at": self.receipt.received_at,
            "receiver_key_id": self.receiver_key_id,
            "sender_key_id": self.sender_key_id,
        }


def write_pack(
    folder: Path,
    receipt_jws: str,
    countersignature_jws: str,
    receiver_key: SigningPublicKey,
    sender_key: SigningPublicKey,
) -> Path:
    """Write an evidence pack into a new folder."""
    folder.mkdir(parents=True, exist_ok=False)
    (folder / "receipt.jws").write_text(receipt_jws + "\n")
    (folder / "countersignature.jws").write_text(countersignature_jws + "\n")
    (folder / "receiver-signing.pem").write_bytes(receiver_key.to_pem())
    (folder / "sender-signing.pem").write_bytes(sender_key.to_pem())
    for name, token in (("receipt", receipt_jws), ("countersignature", countersignature_jws)):
        header, payload, signature = token.split(".")
        (folder / f"{name}.signing-input").write_bytes(f"{header}.{payload}".encode("ascii"))
        (folder / f"{name}.sig").write_bytes(
            base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
        )
    (folder / "README.txt").write_text(README)
    evidence = verify_pack(folder)
    from exchange.receipts.receipt_pdf import render_receipt_pdf

    (folder / "receipt.pdf").write_bytes(render_receipt_pdf(evidence))
    return folder


def verify_pack(folder: Path) -> Evidence:
    """Check a pack with nothing but its contents; raise InvalidEvidence saying what fails."""
    for name in PACK_FILES:
        if not (folder / name).is_file():
            raise InvalidEvidence(f"the pack has no {name}")
    try:
        receiver_key = SigningPublicKey.from_pem((folder / "receiver-signing.pem").read_bytes())
        sender_key = SigningPublicKey.from_pem((folder / "sender-signing.pem").read_bytes())
    except ValidationError as error:
        raise InvalidEvidence(f"a public key does not load: {error.message}") from error
    try:
        receipt_jws = (folder / "receipt.jws").read_text(encoding="ascii").strip()
        countersignature_jws = (folder / "countersignature.jws").read_text(encoding="ascii").strip()
    except UnicodeDecodeError as error:
        raise InvalidEvidence("a signature file is not a compact JWS (not ASCII)") from error
    try:
        receipt_payload = jws.verify(receipt_jws, {receiver_key.key_id: receiver_key}, RECEIPT)
        counter = jws.verify(
            countersignature_jws, {sender_key.key_id: sender_key}, COUNTERSIGNATURE
        )
    except jws.InvalidSignature as error:
        raise InvalidEvidence(f"a signature does not verify: {error.message}") from error
    receipt = Receipt.from_payload(receipt_payload)
    if counter.get("receipt") != receipt_jws or counter.get("receipt_sha256") != sha256_text(
        receipt_jws
    ):
        raise InvalidEvidence("the countersignature does not quote this receipt")
    if counter.get("transfer_id") != receipt.transfer_id or counter.get("verified") is not True:
        raise InvalidEvidence("the countersignature is for another transfer or not a verification")
    if receipt_payload.get("iss") != counter.get("aud") or receipt_payload.get(
        "aud"
    ) != counter.get("iss"):
        raise InvalidEvidence(
            "the receipt and countersignature are not between the same two schools"
        )
    if not isinstance(counter.get("iat"), int) or isinstance(counter.get("iat"), bool):
        raise InvalidEvidence("the countersignature has no valid time (iat)")
    return Evidence(
        receipt=receipt,
        sender_urn=str(counter["iss"]),
        receiver_urn=str(receipt_payload["iss"]),
        sender_key_id=sender_key.key_id,
        receiver_key_id=receiver_key.key_id,
        countersigned_at=counter["iat"],
    )


def summary_json(evidence: Evidence) -> str:
    """Return the pack's summary as indented JSON."""
    return json.dumps(evidence.summary(), indent=2, sort_keys=True)
