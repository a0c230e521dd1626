"""Regenerate or check the bundle test vectors in this folder.

    python docs/vectors/bundle/make_vectors.py            # check the committed vectors
    python docs/vectors/bundle/make_vectors.py --write    # regenerate them

THE KEYS HERE ARE FOR TESTS ONLY.  They are derived from public strings, so anyone can
recompute them: never use them for real data.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import sys
from dataclasses import replace
from pathlib import Path

from exchange.packaging.build import build_bundle, pseudonymous_pupil_ref
from exchange.packaging.bundle import Bundle
from exchange.packaging.jws import verify_compact
from exchange.packaging.keys import EncryptionKey, SigningKey, SigningPublicKey
from exchange.packaging.manifest import JWS_TYPE
from exchange.packaging.samples import fictional_chronology, fictional_vault

HERE = Path(__file__).resolve().parent
KEY_FILES = (
    "TEST-ONLY-sender-signing-key.pem",
    "sender-signing-public.pem",
    "TEST-ONLY-recipient-identity.txt",
    "recipient.age-recipient",
)
TRANSFER_ID = "tr-vector-0001"


def _seed(label: str) -> bytes:
    return hashlib.sha256(f"safeguarding-exchange TEST VECTOR ONLY: {label}".encode()).digest()


def test_keys() -> tuple[SigningKey, EncryptionKey]:
    """Return the test-only sender signing key and recipient identity."""
    return SigningKey.from_raw(_seed("sender signing")), EncryptionKey(_seed("recipient age"))


def _generate() -> dict[str, bytes]:
    signer, recipient = test_keys()
    chronology = replace(fictional_chronology(3, seed=7), transfer_id=TRANSFER_ID)
    out = io.BytesIO()
    built = build_bundle(
        out,
        chronology=chronology,
        vault_files=fictional_vault(2, 3_000, seed=7),
        signing_key=signer,
        recipient_key=recipient.public,
        pupil_ref=pseudonymous_pupil_ref(b"test vector secret", "B801200005001"),
    )
    expected = {
        "note": "TEST VECTORS ONLY: the keys are public. Never use them for real data.",
        "sender_signing_key_id": signer.key_id,
        "recipient_encryption_key_id": recipient.key_id,
        "recipient": recipient.public.recipient,
        "manifest_sha256": hashlib.sha256(built.manifest_bytes).hexdigest(),
        "files": {entry.name: entry.sha256 for entry in built.manifest.files},
        "file_count": built.manifest.file_count,
    }
    return {
        "TEST-ONLY-sender-signing-key.pem": signer.private_pem(),
        "sender-signing-public.pem": signer.public.to_pem(),
        "TEST-ONLY-recipient-identity.txt": (
            "# TEST ONLY: an age identity derived from a public string.\n"
            + recipient.identity_string()
            + "\n"
        ).encode(),
        "recipient.age-recipient": (recipient.public.recipient + "\n").encode(),
        "manifest.json": built.manifest_bytes,
        "manifest.jws": built.manifest_jws.encode("ascii") + b"\n",
        "signing-input.txt": built.manifest_jws.rsplit(".", 1)[0].encode("ascii"),
        "expected.json": (json.dumps(expected, indent=2, sort_keys=True) + "\n").encode(),
        "bundle.age": out.getvalue(),
    }


def write() -> None:
    """Regenerate every vector file."""
    for name, data in _generate().items():
        (HERE / name).write_bytes(data)


def check() -> list[str]:
    """Return the problems found in the committed vectors (empty when they are sound).

    The bundle is not compared byte for byte with a fresh one: age encryption is randomised
    and the chronology PDF depends on the ReportLab version and fonts.  Instead the keys are
    re-derived, the JWS is verified, and the committed bundle is opened and checked.
    """
    problems = []
    fresh = _generate()
    for name in KEY_FILES:
        if (HERE / name).read_bytes() != fresh[name]:
            problems.append(f"{name} is not the key derived from its public seed")
    identity = EncryptionKey.from_identity_file(
        (HERE / "TEST-ONLY-recipient-identity.txt").read_text()
    )
    sender = SigningPublicKey.from_pem((HERE / "sender-signing-public.pem").read_bytes())
    manifest_bytes = (HERE / "manifest.json").read_bytes()
    token = (HERE / "manifest.jws").read_text().strip()
    _, payload = verify_compact(token, [sender], JWS_TYPE, "vector")
    if payload != manifest_bytes:
        problems.append("manifest.jws does not sign manifest.json")
    if token.rsplit(".", 1)[0] != (HERE / "signing-input.txt").read_text():
        problems.append("signing-input.txt is not the JWS signing input")
    expected = json.loads((HERE / "expected.json").read_text())
    if hashlib.sha256(manifest_bytes).hexdigest() != expected["manifest_sha256"]:
        problems.append("manifest.json does not match expected.json")
    with Bundle.open(HERE / "bundle.age", identity, [sender], "900002") as bundle:
        if bundle.manifest_bytes != manifest_bytes or bundle.manifest_jws != token:
            problems.append("the bundle's manifest or JWS differs from the committed files")
        if bundle.manifest.file_count != expected["file_count"]:
            problems.append("the bundle's file count differs from expected.json")
        for name, digest in expected["files"].items():
            if hashlib.sha256(bundle.read_bytes(name)).hexdigest() != digest:
                problems.append(f"{name} in the bundle does not match expected.json")
    return problems


def main() -> int:
    """Check or write the vectors."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write", action="store_true", help="regenerate the vectors")
    if parser.parse_args().write:
        write()
    problems = check()
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
