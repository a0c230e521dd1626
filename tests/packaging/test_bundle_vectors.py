"""The committed test vectors in docs/vectors/bundle/ still verify, also with age and openssl."""

from __future__ import annotations

import base64
import importlib.util
import subprocess
from pathlib import Path

from bundle_kit import tool

VECTORS = Path(__file__).resolve().parents[2] / "docs" / "vectors" / "bundle"


def _script():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("make_vectors", VECTORS / "make_vectors.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_vectors_check_cleanly() -> None:
    assert _script().check() == []


def test_vector_bundle_decrypts_with_age_and_jws_verifies_with_openssl(tmp_path: Path) -> None:
    plain = subprocess.run(
        [
            tool("age"),
            "-d",
            "-i",
            str(VECTORS / "TEST-ONLY-recipient-identity.txt"),
            str(VECTORS / "bundle.age"),
        ],
        check=True,
        capture_output=True,
    ).stdout
    assert plain[:13] == b"manifest.json"
    signature = (VECTORS / "manifest.jws").read_text().strip().rsplit(".", 1)[1]
    (tmp_path / "sig").write_bytes(
        base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
    )
    result = subprocess.run(
        [
            tool("openssl"), "pkeyutl", "-verify", "-rawin", "-pubin",
            "-inkey", str(VECTORS / "sender-signing-public.pem"),
            "-sigfile", str(tmp_path / "sig"), "-in", str(VECTORS / "signing-input.txt"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
