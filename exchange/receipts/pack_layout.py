"""The files of an evidence pack and how each one is derived, so both checks agree on bytes.

Format 2 (written since December 2026) adds `check.sh` (OpenSSL and coreutils only) and
`SHA256SUMS`; format 1 packs (no SHA256SUMS) are still read.
"""

from __future__ import annotations

import base64
import hashlib
from importlib import resources
from pathlib import Path

FORMAT = 2
SUMS = "SHA256SUMS"
SCRIPT = "check.sh"
KEYS = ("receiver-signing.pem", "sender-signing.pem")
SIGNED = ("receipt", "countersignature")
LISTED = (
    "README.txt",
    SCRIPT,
    "countersignature.jws",
    "countersignature.sig",
    "countersignature.signing-input",
    "receipt.jws",
    "receipt.pdf",
    "receipt.sig",
    "receipt.signing-input",
    *KEYS,
)
FILES = tuple(sorted((*LISTED, SUMS)))
README = """Evidence pack of a safeguarding file transfer (format 2).

receipt.jws           the receiving school's signed receipt (compact JWS, Ed25519)
countersignature.jws  the sending school's countersignature, quoting the receipt
*-signing.pem         both schools' Ed25519 public keys
*.signing-input, *.sig  each JWS's signing input and raw signature, for OpenSSL
receipt.pdf           a printable summary
SHA256SUMS            the SHA-256 of every other file
check.sh              the OpenSSL check below, as a script

Check it with this service:     exchange receipts verify .
Check it with OpenSSL 3 alone:  sh check.sh
Both refuse a pack in which any byte of any file differs from what was exported.
Then compare the two key ids printed with those the schools' DSLs confirmed by phone.
"""


def script_text() -> str:
    """Return the POSIX check script shipped in every pack."""
    return resources.files("exchange.receipts").joinpath("check_pack.sh").read_text()


def jws_file(token: str) -> bytes:
    """Return the bytes of a .jws file: the compact JWS and one newline."""
    return token.encode("ascii") + b"\n"


def signing_input(token: str) -> bytes:
    """Return the JWS signing input: its first two parts, as ASCII."""
    header, payload, _ = token.split(".")
    return f"{header}.{payload}".encode("ascii")


def raw_signature(token: str) -> bytes:
    """Return the JWS's signature, decoded from base64url."""
    signature = token.split(".")[2]
    return base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))


def sums_text(folder: Path) -> str:
    """Return SHA256SUMS for the pack in this folder, in `sha256sum` format."""
    lines = []
    for name in LISTED:
        digest = hashlib.sha256((folder / name).read_bytes()).hexdigest()
        lines.append(f"{digest}  {name}\n")
    return "".join(lines)
