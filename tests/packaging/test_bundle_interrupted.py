"""A killed `exchange bundle open` leaves no plaintext: SIGTERM cleans up, SIGKILL is swept."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import rfc8785
from bundle_kit import Parties, good_files, manifest_for

from exchange.packaging import _tar
from exchange.packaging.age_pipeline import encrypt_to_recipient
from exchange.packaging.jws import sign_compact
from exchange.packaging.manifest import JWS_TYPE
from exchange.vault.workdirs import sweep_dead_work_dirs

BIG = 160 * 1024 * 1024
_BLOCK = bytes(1024 * 1024)


def _zeros() -> Iterator[bytes]:
    for _ in range(BIG // len(_BLOCK)):
        yield _BLOCK


@pytest.fixture(scope="module")
def big(parties: Parties, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Write a 160 MiB bundle (one large vault file), our identity and the sender's key."""
    folder = tmp_path_factory.mktemp("big")
    files = good_files()
    manifest = manifest_for(parties, files)
    digest = hashlib.sha256()
    for block in _zeros():
        digest.update(block)
    entry = {"name": "vault/0002.pdf", "size": BIG, "sha256": digest.hexdigest()}
    manifest["files"].append(entry)
    manifest["file_count"] += 1
    raw = rfc8785.dumps(manifest)
    jws = sign_compact(raw, parties.sender, JWS_TYPE)

    def chunks() -> Iterator[bytes]:
        yield from _tar.entry_chunks("manifest.json", raw, 0)
        yield from _tar.entry_chunks("manifest.jws", jws.encode(), 0)
        for name, data in files.items():
            yield from _tar.entry_chunks(name, data, 0)
        yield _tar.entry_header("vault/0002.pdf", BIG, 0)
        yield from _zeros()
        yield _tar.end_of_archive()

    paths = {
        "bundle": folder / "big.age",
        "identity": folder / "identity.txt",
        "sender": folder / "sender.pem",
    }
    with paths["bundle"].open("wb") as out:
        encrypt_to_recipient(parties.recipient.public.raw, chunks(), out)
    paths["identity"].write_text(f"# test only\n{parties.recipient.identity_string()}\n")
    paths["sender"].write_bytes(parties.sender.public.to_pem())
    return paths


def _start_open(big: dict[str, Path], out: Path) -> subprocess.Popen[bytes]:
    args = [str(big["bundle"]), "--identity", str(big["identity"])]
    args += ["--sender-public", str(big["sender"]), "--out", str(out)]
    return subprocess.Popen(
        [sys.executable, "-m", "exchange", "bundle", "open", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _partial_folder(parent: Path, process: subprocess.Popen[bytes]) -> Path:
    """Poll until the open has written part of the large file; return its work folder."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        for folder in parent.glob(".sgx-open-*"):
            partial = folder / "files" / "vault" / "0002.pdf"
            if partial.exists() and partial.stat().st_size > 0:
                return folder
        time.sleep(0.002)
    raise AssertionError("the open never started writing the large file")


def test_sigterm_removes_the_partial_folder(big: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "missing-parent" / "opened"
    process = _start_open(big, out)
    folder = _partial_folder(tmp_path, process)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 128 + signal.SIGTERM, stderr
    assert b"Traceback" not in stderr
    assert not folder.exists()
    assert list(tmp_path.iterdir()) == [tmp_path / "open-registry"]
    assert list((tmp_path / "open-registry").iterdir()) == []


@pytest.mark.parametrize("sweeper", ["a later open", "the service's start-up sweep"])
def test_after_sigkill_the_next_run_removes_the_partial_folder(
    big: dict[str, Path], tmp_path: Path, sweeper: str
) -> None:
    process = _start_open(big, tmp_path / "opened")
    folder = _partial_folder(tmp_path, process)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=60)
    assert (folder / "files" / "chronology.json").exists()  # Plaintext was left ...
    if sweeper == "a later open":
        not_a_bundle = {**big, "bundle": big["identity"]}
        later = _start_open(not_a_bundle, tmp_path / "other")
        _, stderr = later.communicate(timeout=60)
        assert later.returncode == 1, stderr  # Refused at step 1, but the sweep ran first.
        assert not (tmp_path / "other").exists()
    else:
        sweep_dead_work_dirs(tmp_path / "instance-home")
    assert not folder.exists()
    assert not os.listdir(tmp_path / "open-registry")
