"""`exchange bundle verify` and `exchange bundle open` on real files."""

from __future__ import annotations

from pathlib import Path

import pytest
from bundle_kit import Parties, bundle
from click.testing import CliRunner

from exchange.packaging.cli_bundle import bundle as bundle_group


@pytest.fixture
def files(parties: Parties, tmp_path: Path) -> dict[str, Path]:
    """Write a bundle, our identity and the sender's public key."""
    paths = {
        "bundle": tmp_path / "in.age",
        "identity": tmp_path / "identity.txt",
        "sender": tmp_path / "sender.pem",
        "other": tmp_path / "other.pem",
    }
    paths["bundle"].write_bytes(bundle(parties))
    paths["identity"].write_text(f"# test only\n{parties.recipient.identity_string()}\n")
    paths["sender"].write_bytes(parties.sender.public.to_pem())
    paths["other"].write_bytes(parties.other_signer.public.to_pem())
    return paths


def _args(files: dict[str, Path], sender: str = "sender") -> list[str]:
    return [
        str(files["bundle"]),
        "--identity",
        str(files["identity"]),
        "--sender-public",
        str(files[sender]),
    ]


def test_verify_prints_the_summary(files: dict[str, Path]) -> None:
    result = CliRunner().invoke(bundle_group, ["verify", *_args(files), "--recipient", "900002"])
    assert result.exit_code == 0, result.output
    assert "transfer_id       tr-test-0001" in result.output
    assert "file_count        4" in result.output


def test_verify_rejects_with_the_step(files: dict[str, Path]) -> None:
    result = CliRunner().invoke(bundle_group, ["verify", *_args(files, "other")])
    assert result.exit_code == 1
    assert "bundle rejected: step 5:" in result.output
    wrong = CliRunner().invoke(bundle_group, ["verify", *_args(files), "--recipient", "900009"])
    assert "is for school 900002, not for us (900009)" in wrong.output


def test_open_writes_only_verified_files(files: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "opened"
    result = CliRunner().invoke(bundle_group, ["open", *_args(files), "--out", str(out)])
    assert result.exit_code == 0, result.output
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert written == ["chronology.json", "chronology.pdf", "conversation.json", "vault/0001.pdf"]
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith("sgx-bundle-")]
    assert leftovers == []


def test_open_failure_leaves_nothing(files: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "opened"
    result = CliRunner().invoke(bundle_group, ["open", *_args(files, "other"), "--out", str(out)])
    assert result.exit_code == 1
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("sgx-bundle-")]
