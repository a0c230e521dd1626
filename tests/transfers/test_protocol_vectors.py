"""The published protocol vectors: reproducible, and checkable with OpenSSL alone."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

import pytest

from exchange.packaging.keys import SigningPublicKey
from exchange.receipts.evidence import verify_pack, write_pack

VECTORS = Path(__file__).parents[2] / "docs" / "vectors" / "protocol"


def _load() -> dict:  # type: ignore[type-arg]
    return json.loads((VECTORS / "vectors.json").read_text())


def test_the_code_still_makes_exactly_the_published_vectors() -> None:
    checked = subprocess.run(
        [sys.executable, str(VECTORS / "make_vectors.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 0, checked.stderr


@pytest.mark.parametrize(
    ("name", "signer"),
    [
        ("offer", "school_a"),
        ("offer_response", "school_b"),
        ("receipt", "school_b"),
        ("countersignature", "school_a"),
        ("withdrawal", "school_a"),
        ("recall", "school_a"),
        ("destruction", "school_b"),
        ("reoffer", "school_a"),
        ("acknowledged", "school_b"),
        ("offer_named", "school_a"),
    ],
)
def test_each_message_verifies_with_openssl(name: str, signer: str, tmp_path: Path) -> None:
    vectors = _load()
    header, payload, signature = vectors["messages"][name].split(".")
    (tmp_path / "key.pem").write_text(vectors["keys"][signer]["public_pem"])
    (tmp_path / "input").write_bytes(f"{header}.{payload}".encode())
    (tmp_path / "sig").write_bytes(base64.urlsafe_b64decode(signature + "=="))
    result = subprocess.run(
        [
            "openssl",
            "pkeyutl",
            "-verify",
            "-rawin",
            "-pubin",
            "-inkey",
            str(tmp_path / "key.pem"),
            "-in",
            str(tmp_path / "input"),
            "-sigfile",
            str(tmp_path / "sig"),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_receipt_pair_is_a_valid_evidence_pack(tmp_path: Path) -> None:
    vectors = _load()
    keys = {
        k: SigningPublicKey.from_pem(v["public_pem"].encode()) for k, v in vectors["keys"].items()
    }
    pack = write_pack(
        tmp_path / "pack",
        vectors["messages"]["receipt"],
        vectors["messages"]["countersignature"],
        receiver_key=keys["school_b"],
        sender_key=keys["school_a"],
    )
    assert verify_pack(pack).receipt.file_count == 4
