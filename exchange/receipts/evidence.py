"""The evidence pack: both signatures and both public keys, checkable offline for years.

The files of a pack, and how each is derived, are in `pack_layout` (format 2; format 1 packs
are still read). `verify_pack` checks every byte of every file, as `check.sh` does with
OpenSSL and coreutils, and what the signatures prove.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from exchange import jws
from exchange.errors import ExchangeError, ValidationError
from exchange.packaging.keys import SigningPublicKey
from exchange.receipts import pack_layout as layout
from exchange.receipts.receipt import Receipt, sha256_text
from exchange.transfers.messages import COUNTERSIGNATURE, RECEIPT

PACK_FILES = ("receipt.jws", "countersignature.jws", *layout.KEYS)


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
    """Write an evidence pack (format 2) into a new folder, and check it as a reader would."""
    folder.mkdir(parents=True, exist_ok=False)
    for name, token in (("receipt", receipt_jws), ("countersignature", countersignature_jws)):
        (folder / f"{name}.jws").write_bytes(layout.jws_file(token))
        (folder / f"{name}.signing-input").write_bytes(layout.signing_input(token))
        (folder / f"{name}.sig").write_bytes(layout.raw_signature(token))
    (folder / "receiver-signing.pem").write_bytes(receiver_key.to_pem())
    (folder / "sender-signing.pem").write_bytes(sender_key.to_pem())
    (folder / "README.txt").write_text(layout.README)
    (folder / layout.SCRIPT).write_text(layout.script_text())
    evidence = _verify_signed(folder)
    from exchange.receipts.receipt_pdf import render_receipt_pdf

    (folder / "receipt.pdf").write_bytes(render_receipt_pdf(evidence))
    (folder / layout.SUMS).write_text(layout.sums_text(folder))
    verify_pack(folder)
    return folder


def verify_pack(folder: Path) -> Evidence:
    """Check a pack with nothing but its contents; raise InvalidEvidence saying what fails."""
    for name in PACK_FILES:
        if not (folder / name).is_file():
            raise InvalidEvidence(f"the pack has no {name}")
    if (folder / layout.SUMS).exists():
        _check_every_file(folder)
    return _verify_signed(folder)


def _check_every_file(folder: Path) -> None:
    """Format 2: exactly the pack's files, each as exported (the first step of check.sh)."""
    present = tuple(sorted(path.name for path in folder.iterdir()))
    if present != layout.FILES:
        raise InvalidEvidence(f"the folder holds other files than a pack: {', '.join(present)}")
    for name in layout.FILES:
        if not (folder / name).is_file():
            raise InvalidEvidence(f"{name} is not a file")
    if (folder / layout.SUMS).read_bytes() != layout.sums_text(folder).encode():
        raise InvalidEvidence("a file differs from SHA256SUMS, or SHA256SUMS was changed")
    if (folder / "README.txt").read_bytes() != layout.README.encode():
        raise InvalidEvidence("README.txt is not the README of a format 2 pack")
    if (folder / layout.SCRIPT).read_bytes() != layout.script_text().encode():
        raise InvalidEvidence("check.sh is not the script of a format 2 pack")


def _read_token(folder: Path, name: str) -> str:
    """Return a .jws file's token: ASCII, one compact JWS, then exactly one newline."""
    data = (folder / f"{name}.jws").read_bytes()
    refused = InvalidEvidence(f"{name}.jws is not one compact JWS and a newline")
    try:
        token = data[:-1].decode("ascii")
    except UnicodeDecodeError as error:
        raise refused from error
    if layout.jws_file(token) != data or token.count(".") != 2 or not token.isprintable():
        raise refused
    return token


def _check_derived(folder: Path, name: str, token: str) -> None:
    """Each .signing-input and .sig must be exactly the parts of its .jws."""
    try:
        expected = (layout.signing_input(token), layout.raw_signature(token))
    except (ValueError, UnicodeEncodeError) as error:
        raise InvalidEvidence(f"{name}.jws is not a compact JWS") from error
    for suffix, want in zip(("signing-input", "sig"), expected, strict=True):
        path = folder / f"{name}.{suffix}"
        if path.exists() and path.read_bytes() != want:
            raise InvalidEvidence(f"{name}.{suffix} is not the {suffix} of {name}.jws")


def _load_key(folder: Path, name: str) -> SigningPublicKey:
    data = (folder / name).read_bytes()
    try:
        key = SigningPublicKey.from_pem(data)
    except ValidationError as error:
        raise InvalidEvidence(f"{name} does not load: {error.message}") from error
    if key.to_pem() != data:
        raise InvalidEvidence(f"{name} is not the key's PEM exactly as exported")
    return key


def _verify_signed(folder: Path) -> Evidence:
    """Check the signatures, the key ids and what the countersignature quotes."""
    receiver_key = _load_key(folder, "receiver-signing.pem")
    sender_key = _load_key(folder, "sender-signing.pem")
    receipt_jws = _read_token(folder, "receipt")
    countersignature_jws = _read_token(folder, "countersignature")
    _check_derived(folder, "receipt", receipt_jws)
    _check_derived(folder, "countersignature", countersignature_jws)
    try:
        receipt_payload = jws.verify(receipt_jws, {receiver_key.key_id: receiver_key}, RECEIPT)
        counter = jws.verify(
            countersignature_jws, {sender_key.key_id: sender_key}, COUNTERSIGNATURE
        )
    except jws.InvalidSignature as error:
        raise InvalidEvidence(f"a signature does not verify: {error.message}") from error
    receipt = Receipt.from_payload(receipt_payload)
    if receipt.signing_key_id != receiver_key.key_id:
        raise InvalidEvidence("the receipt quotes another signing key id")
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
