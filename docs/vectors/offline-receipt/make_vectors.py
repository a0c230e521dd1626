"""Regenerate or check the offline receipt record vectors (versions 1 and 2).

    python docs/vectors/offline-receipt/make_vectors.py            # check the committed vectors
    python docs/vectors/offline-receipt/make_vectors.py --write    # regenerate them

The sending school's key is the RFC 8032 section 7.1 test key 1: a public test value, never to
be used for anything real. Ed25519 is deterministic, so each JWS is reproducible byte for byte.
"""

from __future__ import annotations

import sys
from pathlib import Path

from exchange.jws import sign
from exchange.packaging.keys import SigningKey
from exchange.transfers.offline_route import OFFLINE_RECEIPT, receipt_record
from exchange.vector_script import run, stale

HERE = Path(__file__).resolve().parent
SEED = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
COMMON = {
    "transfer_id": "0b7c2f3e-5d41-4a8e-9c1b-2f6d8e4a7b90",
    "sender": "999101",
    "recipient": "welsh_school:6812001",
    "zip_sha256": "5f" * 32,
    "file_count": 9,
}


def vector_files() -> dict[str, bytes]:
    """Return the vector files' names and exact bytes."""
    key = SigningKey.from_raw(SEED)
    by_code = receipt_record(
        **COMMON,
        method="receipt code on the download page",
        confirmed_by="Sam Jones, Ysgol Enghraifft",
        confirmed_at="2026-12-07T10:15:00+00:00",
        entered_by=None,
        extra={},
    )
    by_form = receipt_record(
        **COMMON,
        method="signed transfer form",
        confirmed_by="Sam Jones, Ysgol Enghraifft",
        confirmed_at="2026-12-07T11:00:00+00:00",
        entered_by=3,
        extra={"v": 2, "form_sha256": "a1" * 32, "form_media_type": "application/pdf"},
    )
    files = {"sender-signing-public.pem": key.public.to_pem()}
    for name, record in (("offline-receipt-v1", by_code), ("offline-receipt-v2", by_form)):
        token = sign(record, key, OFFLINE_RECEIPT)
        header, payload, _signature = token.split(".")
        files[f"{name}.jws"] = token.encode() + b"\n"
        files[f"{name}.signing-input"] = f"{header}.{payload}".encode()
    return files


def check() -> list[str]:
    """Return the vector files that differ from what the code makes now."""
    return stale(HERE, vector_files())


def main() -> int:
    """Check the vectors, or write them with --write."""
    return run(__doc__, HERE, vector_files)


if __name__ == "__main__":
    sys.exit(main())
