"""Exit statuses of `exchange bundle verify|open`, and where `open` may write."""

from __future__ import annotations

from pathlib import Path

import pytest
from bundle_kit import Parties, bundle
from click.testing import CliRunner

from exchange.packaging import cli_bundle
from exchange.packaging.cli_bundle import bundle as bundle_group


@pytest.fixture
def paths(parties: Parties, tmp_path: Path) -> dict[str, Path]:
    """Write a bundle, our identity and the sender's public key."""
    found = {
        "bundle": tmp_path / "in.age",
        "identity": tmp_path / "identity.txt",
        "sender": tmp_path / "sender.pem",
        "other": tmp_path / "other.pem",
        "garbage": tmp_path / "garbage.pem",
    }
    found["bundle"].write_bytes(bundle(parties))
    found["identity"].write_text(f"# test only\n{parties.recipient.identity_string()}\n")
    found["sender"].write_bytes(parties.sender.public.to_pem())
    found["other"].write_bytes(parties.other_signer.public.to_pem())
    found["garbage"].write_bytes(b"not a key")
    return found


def _run(paths: dict[str, Path], command: str, sender: str = "sender", *extra: str):  # type: ignore[no-untyped-def]
    args = [command, str(paths["bundle"]), "--identity", str(paths["identity"])]
    return CliRunner().invoke(bundle_group, [*args, "--sender-public", str(paths[sender]), *extra])


def test_verified_is_0_refused_is_1_with_the_step(paths: dict[str, Path]) -> None:
    assert _run(paths, "verify").exit_code == 0
    refused = _run(paths, "verify", "other")
    assert refused.exit_code == 1
    assert "bundle rejected: step 5:" in refused.stderr


def test_usage_is_2(paths: dict[str, Path], tmp_path: Path) -> None:
    assert _run(paths, "verify", "garbage").exit_code == 2
    assert CliRunner().invoke(bundle_group, ["verify"]).exit_code == 2
    (tmp_path / "taken").mkdir()
    assert _run(paths, "open", "sender", "--out", str(tmp_path / "taken")).exit_code == 2


def test_an_internal_error_is_3_without_a_traceback(
    paths: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise MemoryError("no room")

    monkeypatch.setattr(cli_bundle, "verify_bundle", broken)
    result = _run(paths, "verify")
    assert result.exit_code == 3
    assert result.stderr.startswith("internal error: no room")
    assert "Traceback" not in result.stderr


def test_a_crash_inside_the_reader_names_its_step(
    paths: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from exchange.packaging import bundle as reader

    def broken(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(reader, "_create_private", broken)
    result = _run(paths, "open", "sender", "--out", str(paths["bundle"].parent / "o"))
    assert result.exit_code == 3
    assert "internal error: step 10: the reader failed (OSError" in result.stderr
    assert "Traceback" not in result.stderr


def test_open_makes_out_and_its_parents_only_after_verifying(
    paths: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "new" / "deeper" / "opened"
    refused = _run(paths, "open", "other", "--out", str(out))
    assert refused.exit_code == 1
    assert not (tmp_path / "new").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".sgx-open-")]
    assert _run(paths, "open", "sender", "--out", str(out)).exit_code == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "chronology.json",
        "chronology.pdf",
        "conversation.json",
        "vault",
    ]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".sgx-open-")]
