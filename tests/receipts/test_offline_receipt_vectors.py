"""The offline receipt vectors are what the code signs, and OpenSSL verifies them."""

from __future__ import annotations

import base64
import importlib.util
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from exchange import jws
from exchange.packaging.keys import SigningPublicKey
from exchange.receipts.offline_evidence import OFFLINE_RECEIPT, REQUIRED

VECTORS = Path(__file__).resolve().parents[2] / "docs" / "vectors" / "offline-receipt"
NAMES = ("offline-receipt-v1", "offline-receipt-v2")


def _script():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("make_vectors", VECTORS / "make_vectors.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_vectors_are_what_the_code_signs() -> None:
    assert _script().check() == []


@pytest.mark.parametrize("name", NAMES)
def test_our_verifier_reads_each_version(name: str) -> None:
    key = SigningPublicKey.from_pem((VECTORS / "sender-signing-public.pem").read_bytes())
    token = (VECTORS / f"{name}.jws").read_text().strip()
    record = jws.verify(token, {key.key_id: key}, OFFLINE_RECEIPT)
    assert all(member in record for member in REQUIRED)
    assert ("form_sha256" in record) == (record["v"] == 2)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="OpenSSL is not installed")
@pytest.mark.parametrize("name", NAMES)
def test_openssl_verifies_each_and_refuses_a_changed_byte(name: str, tmp_path: Path) -> None:
    signature = (VECTORS / f"{name}.jws").read_text().strip().split(".")[2]
    (tmp_path / "sig").write_bytes(
        base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
    )
    signed = (VECTORS / f"{name}.signing-input").read_bytes()
    changed = tmp_path / "changed"
    changed.write_bytes(signed[:-1] + bytes([signed[-1] ^ 1]))

    def verify(path: Path) -> int:
        return subprocess.run(
            ["openssl", "pkeyutl", "-verify", "-rawin", "-pubin", "-inkey",
             str(VECTORS / "sender-signing-public.pem"), "-sigfile", str(tmp_path / "sig"),
             "-in", str(path)],
            capture_output=True,
            check=False,
        ).returncode  # fmt: skip

    assert verify(VECTORS / f"{name}.signing-input") == 0
    assert verify(changed) != 0
    payload = signed.split(b".")[1].decode()
    record = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert record["transfer_id"] == "0b7c2f3e-5d41-4a8e-9c1b-2f6d8e4a7b90"
