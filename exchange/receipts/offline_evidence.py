"""The offline evidence pack (format 1): the sending school's signed record of an offline receipt.

An offline transfer has no receiver signature: the receiving DSL read back a receipt code found
inside the encrypted zip, or the sender uploaded the signed transfer form. The sending school
signs a record of that (`sgx-offline-receipt+jws`, docs/offline-export.md); this pack holds it
with the school's public key, checkable with this service or with OpenSSL alone (`check.sh`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from exchange import jws
from exchange.errors import ValidationError
from exchange.packaging.keys import SigningPublicKey
from exchange.receipts import pack_layout as layout
from exchange.receipts.evidence import InvalidEvidence

OFFLINE_RECEIPT = "sgx-offline-receipt+jws"
NAME = "offline-receipt"
KEY = "sender-signing.pem"
SCRIPT = "check.sh"
SUMS = "SHA256SUMS"
LISTED = (
    "README.txt",
    SCRIPT,
    f"{NAME}.jws",
    f"{NAME}.sig",
    f"{NAME}.signing-input",
    KEY,
)
FILES = tuple(sorted((*LISTED, SUMS)))
README = """Offline evidence pack of a safeguarding file transfer (offline format 1).

offline-receipt.jws      the sending school's signed record that the receiving school
                         confirmed receipt (receipt code read back, or signed form returned)
sender-signing.pem       the sending school's Ed25519 public key
*.signing-input, *.sig   the JWS's signing input and raw signature, for OpenSSL
SHA256SUMS               the SHA-256 of every other file
check.sh                 the OpenSSL check, as a script

Check it with this service:     exchange receipts verify .
Check it with OpenSSL 3 alone:  sh check.sh
Then compare the key id printed with the sending school's published key id.
"""
REQUIRED = ("transfer_id", "sender", "recipient", "zip_sha256", "method", "confirmed_at")


@dataclass(frozen=True)
class OfflineEvidence:
    """What a verified offline pack proves."""

    record: dict[str, Any]
    sender_key_id: str

    def summary(self) -> dict[str, Any]:
        """Return the facts a DPO reads."""
        return {
            "transfer_id": self.record["transfer_id"],
            "sender": self.record["sender"],
            "receiver": self.record["recipient"],
            "files": self.record.get("file_count"),
            "zip_sha256": self.record["zip_sha256"],
            "method": self.record["method"],
            "confirmed_by": self.record.get("confirmed_by"),
            "confirmed_at": self.record["confirmed_at"],
            "sender_key_id": self.sender_key_id,
        }


def _script() -> str:
    return resources.files("exchange.receipts").joinpath("check_offline_pack.sh").read_text()


def _sums(folder: Path) -> str:
    return "".join(
        f"{hashlib.sha256((folder / name).read_bytes()).hexdigest()}  {name}\n" for name in LISTED
    )


def is_offline_pack(folder: Path) -> bool:
    """Return whether a folder holds an offline pack rather than a two-signature one."""
    return (folder / f"{NAME}.jws").is_file()


def write_offline_pack(folder: Path, record_jws: str, sender_key: SigningPublicKey) -> Path:
    """Write an offline evidence pack into a new folder, and check it as a reader would."""
    folder.mkdir(parents=True, exist_ok=False)
    (folder / f"{NAME}.jws").write_bytes(layout.jws_file(record_jws))
    (folder / f"{NAME}.signing-input").write_bytes(layout.signing_input(record_jws))
    (folder / f"{NAME}.sig").write_bytes(layout.raw_signature(record_jws))
    (folder / KEY).write_bytes(sender_key.to_pem())
    (folder / "README.txt").write_text(README)
    (folder / SCRIPT).write_text(_script())
    (folder / SUMS).write_text(_sums(folder))
    verify_offline_pack(folder)
    return folder


def verify_offline_pack(folder: Path) -> OfflineEvidence:
    """Check an offline pack with nothing but its contents; raise InvalidEvidence if it fails."""
    present = tuple(sorted(path.name for path in folder.iterdir()))
    if present != FILES:
        raise InvalidEvidence(f"the folder holds other files than a pack: {', '.join(present)}")
    if (folder / SUMS).read_bytes() != _sums(folder).encode():
        raise InvalidEvidence("a file differs from SHA256SUMS, or SHA256SUMS was changed")
    if (folder / "README.txt").read_bytes() != README.encode():
        raise InvalidEvidence("README.txt is not the README of an offline pack")
    if (folder / SCRIPT).read_bytes() != _script().encode():
        raise InvalidEvidence("check.sh is not the script of an offline pack")
    data = (folder / f"{NAME}.jws").read_bytes()
    try:
        token = data[:-1].decode("ascii")
    except UnicodeDecodeError as error:
        raise InvalidEvidence(f"{NAME}.jws is not one compact JWS and a newline") from error
    if layout.jws_file(token) != data or token.count(".") != 2:
        raise InvalidEvidence(f"{NAME}.jws is not one compact JWS and a newline")
    try:
        derived = (layout.signing_input(token), layout.raw_signature(token))
    except (ValueError, UnicodeEncodeError) as error:
        raise InvalidEvidence(f"{NAME}.jws is not a compact JWS") from error
    if (folder / f"{NAME}.signing-input").read_bytes() != derived[0] or (
        folder / f"{NAME}.sig"
    ).read_bytes() != derived[1]:
        raise InvalidEvidence(f"the .signing-input or .sig is not part of {NAME}.jws")
    pem = (folder / KEY).read_bytes()
    try:
        key = SigningPublicKey.from_pem(pem)
    except ValidationError as error:
        raise InvalidEvidence(f"{KEY} does not load: {error.message}") from error
    if key.to_pem() != pem:
        raise InvalidEvidence(f"{KEY} is not the key's PEM exactly as exported")
    try:
        record = jws.verify(token, {key.key_id: key}, OFFLINE_RECEIPT)
    except jws.InvalidSignature as error:
        raise InvalidEvidence(f"the signature does not verify: {error.message}") from error
    missing = [name for name in REQUIRED if not isinstance(record.get(name), str)]
    if missing:
        raise InvalidEvidence(f"the offline receipt lacks {', '.join(missing)}")
    return OfflineEvidence(record, key.key_id)
