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
from collections.abc import Callable
from pathlib import Path
from typing import Any

from exchange.packaging import build
from exchange.packaging.bundle import Bundle
from exchange.packaging.chronology_pdf import render_chronology_pdf
from exchange.packaging.content import VaultFile
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


def stage_run(work: Path, incidents: int, pdfs: int, vault_mb: int) -> None:
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
        pupil_ref="bench",
        files=[FileEntry(m.name, m.size, m.sha256) for m in members],
        redaction={},
    )
    manifest_bytes = manifest.to_bytes()
    jws = _timed("4 sign manifest", t, lambda: sign_compact(manifest_bytes, signer, JWS_TYPE))
    bundle_path = work / "bundle.age"

    def encrypt() -> None:
        with bundle_path.open("wb") as out:
            build.encrypt_to(
                recipient.public, build.archive_chunks(manifest_bytes, jws, members, 0), out
            )

    _timed("5 tar + age encrypt (stream)", t, encrypt)
    _timed("6 verify + open (receiver)", t, lambda: _open(bundle_path, recipient, signer))

    plain = work / "plain"
    plain.mkdir()
    (plain / "chronology.pdf").write_bytes(pdf)
    (plain / "chronology.json").write_bytes(json_bytes)
    (plain / "conversation.json").write_bytes(conversation)
    shutil.copytree(work / "vault", plain / "vault")
    tar_path = work / "inner.tar"
    subprocess.run(["tar", "-cf", str(tar_path), "-C", str(plain), "."], check=True)
    total = sum(m.size for m in members)
    print(f"child file: {incidents} incidents, {pdfs} PDFs, {total / 2**20:.1f} MiB")
    for label, seconds in t.items():
        print(f"  {label:<32} {seconds:8.3f} s")
    ours = t["4 sign manifest"] + t["5 tar + age encrypt (stream)"]
    print(f"  {'ours: sign + encrypt':<32} {ours:8.3f} s")
    seven = shutil.which("7zz") or shutil.which("7z")
    if seven:
        start = time.perf_counter()
        subprocess.run(
            [seven, "a", "-tzip", "-mem=AES256", "-mx0", "-pbench-pass", str(work / "x.zip"), "."],
            cwd=plain, check=True, capture_output=True,
        )  # fmt: skip
        seven_time = time.perf_counter() - start
        label = "7z a -tzip -mem=AES256 -mx0"
        print(f"  {label:<32} {seven_time:8.3f} s   ours/7z = {ours / seven_time:.2f}")
    age = shutil.which("age")
    if age:
        start = time.perf_counter()
        subprocess.run(
            [age, "-e", "-r", recipient.public.recipient, "-o", str(work / "x.age"), str(tar_path)],
            check=True,
        )
        age_time = time.perf_counter() - start
        label = "age -e (Go) on the same tar"
        print(f"  {label:<32} {age_time:8.3f} s   ours/age = {ours / age_time:.2f}")


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
            pupil_ref="bench",
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
        stage_run(Path(folder), args.incidents, args.pdfs, args.vault_mb)
    print("peak memory (each in a fresh process):")
    for size in (50, 500):
        memory_run(size)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
