"""Build a bundle, open it, and check it with tools we did not write."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import subprocess
import tarfile
from pathlib import Path

import pytest
from bundle_kit import Parties, tool
from joserfc import jws
from joserfc.jwk import OKPKey

from exchange.packaging.build import BuiltBundle, build_bundle, pseudonymous_pupil_ref
from exchange.packaging.bundle import Bundle, Expectations, verify_bundle
from exchange.packaging.samples import fictional_chronology, fictional_vault


def _build(parties: Parties, incidents: int, files: int, size: int) -> tuple[bytes, BuiltBundle]:
    out = io.BytesIO()
    kept = build_bundle(
        out,
        chronology=fictional_chronology(incidents),
        vault_files=fictional_vault(files, size),
        signing_key=parties.sender,
        recipient_key=parties.recipient.public,
        pupil_ref=pseudonymous_pupil_ref(b"test secret", "B801200005001"),
    )
    return out.getvalue(), kept


@pytest.fixture(scope="module")
def built(parties: Parties) -> tuple[bytes, BuiltBundle]:
    """Return a small real bundle and what the sender kept."""
    return _build(parties, incidents=12, files=3, size=40_000)


def test_round_trip_extracts_every_file(
    built: tuple[bytes, BuiltBundle], parties: Parties, scratch_tmp: Path
) -> None:
    data, kept = built
    with Bundle.from_bytes(data, [parties.recipient], [parties.sender.public], "900002") as bundle:
        assert bundle.manifest == kept.manifest
        bundle.verify()
        names = [entry.name for entry in bundle.manifest.files]
        assert names[:3] == ["chronology.json", "chronology.pdf", "conversation.json"]
        assert names[3:] == ["vault/0001.pdf", "vault/0002.pdf", "vault/0003.pdf"]
        source = fictional_vault(3, 40_000)[1].opener().read()
        assert bundle.read_bytes("vault/0002.pdf") == source
        chronology = json.loads(bundle.read_bytes("chronology.json"))
        assert chronology["format"] == "sgx-chronology"
        assert len(chronology["documents"]) == 3
    assert list(scratch_tmp.iterdir()) == []


def test_verify_writes_nothing(
    built: tuple[bytes, BuiltBundle], parties: Parties, scratch_tmp: Path
) -> None:
    data, kept = built
    expect = Expectations((parties.recipient,), (parties.sender.public,), "900002", "900001")
    manifest = verify_bundle(io.BytesIO(data), expect)
    assert manifest.file_count == 6
    assert kept.ciphertext_sha256 == hashlib.sha256(data).hexdigest()
    assert list(scratch_tmp.iterdir()) == []


def test_nothing_personal_in_clear(built: tuple[bytes, BuiltBundle]) -> None:
    data, _ = built
    for needle in (b"Fictional", b"B801200005001", b"manifest", b"chronology", b"900001"):
        assert needle not in data


def test_rotated_identity_still_opens(parties: Parties, scratch_tmp: Path) -> None:
    from bundle_kit import bundle as make_bundle

    data = make_bundle(parties)
    newer = type(parties.recipient).generate()
    with Bundle.from_bytes(data, [newer, parties.recipient], [parties.sender.public]) as bundle:
        assert bundle.manifest.file_count == 4


def test_age_cli_decrypts_and_tar_lists(
    built: tuple[bytes, BuiltBundle], parties: Parties, tmp_path: Path
) -> None:
    age = tool("age")
    data, kept = built
    (tmp_path / "bundle.age").write_bytes(data)
    identity = tmp_path / "identity.txt"
    identity.write_text(parties.recipient.identity_string() + "\n")
    plain = subprocess.run(
        [age, "-d", "-i", str(identity), str(tmp_path / "bundle.age")],
        check=True,
        capture_output=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(plain), mode="r:") as archive:
        members = archive.getmembers()
        assert [m.name for m in members[:2]] == ["manifest.json", "manifest.jws"]
        for entry in kept.manifest.files:
            handle = archive.extractfile(entry.name)
            assert handle is not None
            assert hashlib.sha256(handle.read()).hexdigest() == entry.sha256


def test_openssl_verifies_the_manifest_signature(
    built: tuple[bytes, BuiltBundle], parties: Parties, tmp_path: Path
) -> None:
    openssl = tool("openssl")
    _, kept = built
    header, payload, signature = kept.manifest_jws.split(".")
    padded = signature + "=" * (-len(signature) % 4)
    (tmp_path / "sig").write_bytes(base64.urlsafe_b64decode(padded))
    (tmp_path / "input").write_bytes(f"{header}.{payload}".encode())
    (tmp_path / "sender.pem").write_bytes(parties.sender.public.to_pem())
    command = [
        openssl, "pkeyutl", "-verify", "-rawin", "-pubin", "-inkey", str(tmp_path / "sender.pem"),
        "-sigfile", str(tmp_path / "sig"), "-in", str(tmp_path / "input"),
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert "Signature Verified Successfully" in result.stdout
    (tmp_path / "input").write_bytes(f"{header}.{payload}x".encode())
    assert subprocess.run(command, capture_output=True, check=False).returncode != 0


def test_joserfc_verifies_the_manifest_signature(
    built: tuple[bytes, BuiltBundle], parties: Parties
) -> None:
    _, kept = built
    key = OKPKey.import_key(parties.sender.public.to_pem())
    algorithms = ["Ed25519", "EdDSA"]
    token = jws.deserialize_compact(kept.manifest_jws, key, algorithms=algorithms)
    assert token.payload == kept.manifest_bytes
    assert token.protected["kid"] == parties.sender.key_id


def test_a_bundle_with_many_files_round_trips(parties: Parties) -> None:
    """1,200 files make a manifest over 128 kB (joserfc's default cap); it still opens."""
    data, kept = _build(parties, incidents=2, files=1_200, size=300)
    assert len(kept.manifest_jws) > 128_000
    with Bundle.open(io.BytesIO(data), [parties.recipient], [parties.sender.public]) as bundle:
        assert bundle.manifest.file_count == 1_203
        bundle.verify()
