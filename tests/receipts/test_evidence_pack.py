"""Every byte of an evidence pack is covered by both checks: our CLI and check.sh (OpenSSL)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from exchange.cli import main
from exchange.packaging.keys import SigningKey
from exchange.receipts import pack_layout
from exchange.receipts.evidence import write_pack
from exchange.receipts.receipt import Receipt, sha256_text
from exchange.transfers.messages import COUNTERSIGNATURE, RECEIPT, sign_message

SENDER, RECEIVER = "990101", "990102"


def _pack(tmp_path: Path) -> Path:
    """Write a pack from generated keys, as a countersigned transfer leaves one."""
    receiver, sender = SigningKey.generate(), SigningKey.generate()
    receipt = Receipt(
        transfer_id="6b0f1e7a-2c3d-4e5f-8a9b-0c1d2e3f4a5b",
        offer_sha256="a" * 64,
        ciphertext_sha256="b" * 64,
        manifest_sha256="c" * 64,
        file_count=3,
        disposition="complete",
        missing=(),
        reason=None,
        received_at="2026-12-01T10:00:00+00:00",
        signing_key_id=receiver.key_id,
        checkpoint=None,
    )
    token = sign_message(receipt.body(), receiver, RECEIPT, RECEIVER, SENDER)
    counter = sign_message(
        {
            "transfer_id": receipt.transfer_id,
            "receipt_sha256": sha256_text(token),
            "receipt": token,
            "verified": True,
            "checkpoint": None,
        },
        sender,
        COUNTERSIGNATURE,
        SENDER,
        RECEIVER,
    )
    return write_pack(tmp_path / "pack", token, counter, receiver.public, sender.public)


def _cli(pack: Path) -> int:
    return CliRunner().invoke(main, ["receipts", "verify", str(pack)]).exit_code


def _script(pack: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["sh", str(pack / "check.sh")], capture_output=True, text=True, timeout=60, check=False
    )


def _flips(data: bytes) -> dict[str, int]:
    """Return one position of each class of byte in a file: first, last, a dot, a digit..."""
    picks = {"first": 0, "last": len(data) - 1, "middle": len(data) // 2}
    for label, members in (
        ("dot", b"."),
        ("newline", b"\n"),
        ("digit", b"0123456789"),
        ("letter", b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"),
        ("punctuation", b'-_=:{}",/+ '),
    ):
        found = next((i for i, byte in enumerate(data) if byte in members), None)
        if found is not None:
            picks[label] = found
    return picks


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs OpenSSL 3")
def test_a_fresh_pack_verifies_with_the_cli_and_with_openssl_alone(tmp_path: Path) -> None:
    pack = _pack(tmp_path)
    assert sorted(p.name for p in pack.iterdir()) == list(pack_layout.FILES)
    assert _cli(pack) == 0
    checked = _script(pack)
    assert checked.returncode == 0, checked.stderr
    assert "VERIFIED" in checked.stdout


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs OpenSSL 3")
@pytest.mark.parametrize("name", pack_layout.FILES)
def test_a_changed_byte_in_any_file_is_refused_by_both(name: str, tmp_path: Path) -> None:
    pristine = _pack(tmp_path)
    data = (pristine / name).read_bytes()
    for label, position in _flips(data).items():
        pack = tmp_path / f"{name}-{label}"
        shutil.copytree(pristine, pack)
        changed = bytearray(data)
        changed[position] ^= 0x01
        (pack / name).write_bytes(bytes(changed))
        assert _cli(pack) == 1, f"the CLI accepted {name} with its {label} byte changed"
        checked = _script(pack)
        assert checked.returncode != 0, f"check.sh accepted {name} with its {label} byte changed"
        assert "VERIFIED:" not in checked.stdout


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs OpenSSL 3")
def test_a_missing_or_extra_file_is_refused_by_both(tmp_path: Path) -> None:
    pristine = _pack(tmp_path)
    missing, extra = tmp_path / "missing", tmp_path / "extra"
    shutil.copytree(pristine, missing)
    (missing / "receipt.sig").unlink()
    shutil.copytree(pristine, extra)
    (extra / "notes.txt").write_text("added later")
    for pack in (missing, extra):
        assert _cli(pack) == 1
        assert _script(pack).returncode != 0


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs OpenSSL 3")
def test_consistent_derived_files_of_another_signature_are_refused_by_both(
    tmp_path: Path,
) -> None:
    """Swap in a well-formed .sig and .signing-input that do not belong to the .jws."""
    first, second = _pack(tmp_path / "a"), _pack(tmp_path / "b")
    for name in ("receipt.sig", "receipt.signing-input"):
        shutil.copy(second / name, first / name)
    (first / "SHA256SUMS").write_text(pack_layout.sums_text(first))  # Sums made to agree.
    assert _cli(first) == 1
    checked = _script(first)
    assert checked.returncode != 0
    assert "is not the" in checked.stderr
