"""Benchmark bundle building: time each stage, compare with 7-Zip AES and age, measure memory.

    .venv/bin/python bench/bundle_bench.py                 # 300 incidents, 30 PDFs, ~60 MB
    .venv/bin/python bench/bundle_bench.py --memory 50 500  # peak RSS for 50 and 500 MB vaults

Needs `7zz` (or `7z`) and `age` on PATH for the comparison.  Content is fictional.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyrage

from exchange.packaging import build
from exchange.packaging.bundle import Bundle
from exchange.packaging.chronology_pdf import render_chronology_pdf
from exchange.packaging.content import DocumentEntry, VaultFile
from exchange.packaging.jws import sign_compact
from exchange.packaging.keys import EncryptionKey, SigningKey
from exchange.packaging.manifest import JWS_TYPE, FileEntry
from exchange.packaging.names import vault_name
from exchange.packaging.samples import fictional_chronology, fictional_pdf
from exchange.packaging.serialize import chronology_json, conversation_json


def _timed(label: str, timings: dict[str, float], action: Callable[[], Any]) -> Any:
    start = time.perf_counter()
    result = action()
    timings[label] = time.perf_counter() - start
    return result


def write_vault(folder: Path, count: int, total_bytes: int) -> list[VaultFile]:
    """Write count fictional PDFs adding up to about total_bytes; return them as vault files."""
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    each = total_bytes // count
    for number in range(1, count + 1):
        path = folder / f"{number:04d}.pdf"
        path.write_bytes(fictional_pdf(each, number))
        files.append(
            VaultFile(
                name=vault_name(number, "pdf"),
                title=f"Fictional document {number}",
                opener=lambda path=path: path.open("rb"),
            )
        )
    return files


def stage_run(work: Path, incidents: int, pdfs: int, vault_mb: int, repeats: int) -> None:
    """Build one bundle stage by stage and compare with 7-Zip and age on the same bytes."""
    signer, recipient = SigningKey.generate(), EncryptionKey.generate()
    vault = write_vault(work / "vault", pdfs, vault_mb * 1024 * 1024)
    chronology = fictional_chronology(incidents)
    t: dict[str, float] = {}
    documents = _timed("1 hash vault", t, lambda: build.document_entries(vault))
    chronology = dataclasses.replace(chronology, documents=tuple(documents))
    pdf = _timed("2 chronology PDF", t, lambda: render_chronology_pdf(chronology))
    json_bytes = _timed("3 chronology JSON", t, lambda: chronology_json(chronology))
    conversation = conversation_json(chronology)
    members = [
        build._in_memory("chronology.json", json_bytes),
        build._in_memory("chronology.pdf", pdf),
        build._in_memory("conversation.json", conversation),
    ] + [build._from_vault(f, d) for f, d in zip(vault, documents, strict=True)]
    manifest = build.make_manifest(
        transfer_id="tr-bench",
        created_at=chronology.generated_at,
        sender_urn="900001",
        signing_key=signer,
        recipient_urn="900002",
        recipient_key=recipient.public,
        pupil_ref="0123456789abcdef0123456789abcdef",
        files=[FileEntry(m.name, m.size, m.sha256) for m in members],
        redaction={},
    )
    manifest_bytes = manifest.to_bytes()
    jws = _timed("4 sign manifest", t, lambda: sign_compact(manifest_bytes, signer, JWS_TYPE))
    bundle_path = work / "bundle.age"
    plain_members = members[:3] + [
        _without_recheck(f, d) for f, d in zip(vault, documents, strict=True)
    ]

    def encrypt(chosen: list[build._Member]) -> Callable[[], None]:
        def run() -> None:
            bundle_path.unlink(missing_ok=True)
            with bundle_path.open("wb") as out:
                build.encrypt_to(
                    recipient.public, build.archive_chunks(manifest_bytes, jws, chosen, 0), out
                )

        return run

    def previous_writer() -> None:
        bundle_path.unlink(missing_ok=True)
        with bundle_path.open("wb") as out:
            chunks = build.archive_chunks(manifest_bytes, jws, plain_members, 0)
            pyrage.encrypt_io(_Reader(chunks), out, [recipient.public.to_pyrage()])

    plain = work / "plain"
    plain.mkdir()
    (plain / "chronology.pdf").write_bytes(pdf)
    (plain / "chronology.json").write_bytes(json_bytes)
    (plain / "conversation.json").write_bytes(conversation)
    shutil.copytree(work / "vault", plain / "vault")
    tar_path = work / "inner.tar"
    subprocess.run(["tar", "-cf", str(tar_path), "-C", str(plain), "."], check=True)
    seven, age = shutil.which("7zz") or shutil.which("7z"), shutil.which("age")

    def seven_zip() -> None:
        (work / "x.zip").unlink(missing_ok=True)
        subprocess.run(
            [seven or "7z", "a", "-tzip", "-mem=AES256", "-mx0", "-pbench-pass",
             str(work / "x.zip"), "."],
            cwd=plain, check=True, capture_output=True,
        )  # fmt: skip

    def age_cli() -> None:
        (work / "x.age").unlink(missing_ok=True)
        to = recipient.public.recipient
        command = [age or "age", "-e", "-r", to, "-o", str(work / "x.age"), str(tar_path)]
        subprocess.run(command, check=True)

    candidates = {
        "5 tar + age encrypt": encrypt(plain_members),
        "5+ same, re-hashing vault files": encrypt(members),
        "pyrage encrypt_io (old writer)": previous_writer,
    }
    if seven:
        candidates["7z a -tzip -mem=AES256 -mx0"] = seven_zip
    if age:
        candidates["age -e (Go) on the same tar"] = age_cli
    best = _best_of(candidates, repeats)
    t["5 tar + age encrypt (stream)"] = best.pop("5 tar + age encrypt")
    _timed("6 verify + open (receiver)", t, lambda: _open(bundle_path, recipient, signer))
    total = sum(m.size for m in members)
    print(f"child file: {incidents} incidents, {pdfs} PDFs, {total / 2**20:.1f} MiB")
    for label, seconds in t.items():
        print(f"  {label:<34} {seconds:8.3f} s")
    ours = t["4 sign manifest"] + t["5 tar + age encrypt (stream)"]
    print(f"  {'ours: sign + encrypt':<34} {ours:8.3f} s")
    print(f"baselines, same bytes (best of {repeats}, interleaved with ours):")
    for label, seconds in best.items():
        print(f"  {label:<34} {seconds:8.3f} s   ours/this = {ours / seconds:.2f}")


def _without_recheck(vault_file: VaultFile, entry: DocumentEntry) -> build._Member:
    """Return a vault member read without the builder's re-hash, for comparison."""

    def chunks() -> Iterator[bytes]:
        with vault_file.opener() as handle:
            while chunk := handle.read(build.CHUNK):
                yield chunk

    return build._Member(entry.name, entry.size, entry.sha256, chunks)


class _Reader:
    """A read()-able file over byte chunks, for pyrage.encrypt_io."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks, self._pending = chunks, memoryview(b"")

    def read(self, size: int = -1) -> bytes:
        while not self._pending:
            self._pending = memoryview(next(self._chunks, b""))
            if not self._pending:
                return b""
        size = len(self._pending) if size < 0 else size
        taken, self._pending = self._pending[:size], self._pending[size:]
        return bytes(taken)

    def readable(self) -> bool:
        return True


def _best_of(candidates: dict[str, Callable[[], None]], repeats: int) -> dict[str, float]:
    """Time each candidate repeats times, round-robin; return each one's best time."""
    times: dict[str, list[float]] = {label: [] for label in candidates}
    for _ in range(repeats):
        for label, action in candidates.items():
            start = time.perf_counter()
            action()
            times[label].append(time.perf_counter() - start)
    return {label: min(values) for label, values in times.items()}


def _open(path: Path, recipient: EncryptionKey, signer: SigningKey) -> None:
    with Bundle.open(path, [recipient], [signer.public]) as bundle:
        bundle.manifest.file_count  # noqa: B018 - touch the result


def memory_child(folder: Path, size_mb: int) -> None:
    """Build and verify a bundle from the vault in folder; print peak RSS in MiB."""
    from exchange.packaging.bundle import Expectations, verify_bundle

    vault = [
        VaultFile(vault_name(n, "pdf"), f"Document {n}", lambda p=path: p.open("rb"))
        for n, path in enumerate(sorted((folder / "vault").iterdir()), start=1)
    ]
    signer, recipient = SigningKey.generate(), EncryptionKey.generate()
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with (folder / "bundle.age").open("wb") as out:
        build.build_bundle(
            out,
            chronology=fictional_chronology(50),
            vault_files=vault,
            signing_key=signer,
            recipient_key=recipient.public,
            pupil_ref="0123456789abcdef0123456789abcdef",
        )
    after_build = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    verify_bundle(folder / "bundle.age", Expectations((recipient,), (signer.public,)))
    after_verify = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    size = (folder / "bundle.age").stat().st_size
    print(
        f"vault {size_mb:>4} MB, bundle {size / 2**20:6.1f} MiB: peak RSS after imports "
        f"{baseline / 1024:5.1f} MiB, after build {after_build / 1024:5.1f} MiB, "
        f"after verify {after_verify / 1024:5.1f} MiB"
    )


def memory_run(size_mb: int) -> None:
    """Write a vault of size_mb in 2 MB files, then measure a fresh process building it."""
    with tempfile.TemporaryDirectory() as folder:
        write_vault(Path(folder) / "vault", max(1, size_mb // 2), size_mb * 1024 * 1024)
        command = [sys.executable, __file__, "--memory-child", folder, str(size_mb)]
        subprocess.run(command, check=True)


def main() -> int:
    """Run the stage benchmark or the memory benchmark."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--incidents", type=int, default=300)
    parser.add_argument("--pdfs", type=int, default=30)
    parser.add_argument("--vault-mb", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=7, help="timed runs of each encryption")
    parser.add_argument("--memory", type=int, nargs="*", help="vault sizes in MB for peak RSS")
    parser.add_argument("--memory-child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        memory_child(Path(args.memory_child[0]), int(args.memory_child[1]))
        return 0
    if args.memory is not None:
        for size in args.memory or [50, 500]:
            memory_run(size)
        return 0
    with tempfile.TemporaryDirectory() as folder:
        stage_run(Path(folder), args.incidents, args.pdfs, args.vault_mb, args.repeats)
    print("peak memory (each in a fresh process):")
    for size in (50, 500):
        memory_run(size)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
