"""Benchmark verify and open against the number of files: 1,000 versus 10,000.

    .venv/bin/python bench/bundle_scale_bench.py            # best of 3 runs each
    .venv/bin/python bench/bundle_scale_bench.py --profile  # cProfile of verify, 10,000 files

Reading must be linear in the number of files: 10,000 files within 3x ten times the time of
1,000 (a ratio of at most 30). Each file is 100 bytes; the three required files are listed
first, then vault/0001.bin onwards. Content is fictional; keys are generated per run.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import pstats
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import rfc8785

from exchange.packaging import _tar
from exchange.packaging.age_pipeline import encrypt_to_recipient
from exchange.packaging.bundle import Bundle, Expectations, verify_bundle
from exchange.packaging.jws import sign_compact
from exchange.packaging.keys import EncryptionKey, SigningKey
from exchange.packaging.manifest import JWS_TYPE
from exchange.packaging.names import REQUIRED

COUNTS = (1_000, 10_000)
LINEAR_RATIO = 30.0


def _files(count: int) -> dict[str, bytes]:
    names = [*REQUIRED, *(f"vault/{n:04d}.bin" for n in range(1, count - len(REQUIRED) + 1))]
    return {name: name.encode().ljust(100, b".") for name in names}


def write_bundle(path: Path, count: int, signer: SigningKey, recipient: EncryptionKey) -> None:
    """Write a bundle of count small files to path."""
    files = _files(count)
    listed = [
        {"name": name, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        for name, data in files.items()
    ]
    manifest = {
        "format": "sgx-bundle",
        "version": 1,
        "transfer_id": "tr-bench-scale",
        "created_at": "2025-07-01T10:31:00Z",
        "sender": {"urn": "900001", "signing_key_id": signer.key_id},
        "recipient": {"urn": "900002", "encryption_key_id": recipient.key_id},
        "pupil_ref": "0123456789abcdef0123456789abcdef",
        "file_count": count,
        "files": listed,
        "redaction": {"names_replaced": 0},
    }
    raw = rfc8785.dumps(manifest)
    jws = sign_compact(raw, signer, JWS_TYPE)

    def chunks() -> Iterator[bytes]:
        yield from _tar.entry_chunks("manifest.json", raw, 0)
        yield from _tar.entry_chunks("manifest.jws", jws.encode(), 0)
        for name, data in files.items():
            yield from _tar.entry_chunks(name, data, 0)
        yield _tar.end_of_archive()

    with path.open("wb") as out:
        encrypt_to_recipient(recipient.public.raw, chunks(), out)


def _best(action: Callable[[], object], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> int:
    """Time verify and open for 1,000 and 10,000 files and print the ratios."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="profile verify of 10,000")
    arguments = parser.parse_args()
    signer, recipient = SigningKey.generate(), EncryptionKey.generate()
    expect = Expectations((recipient,), (signer.public,))
    timings: dict[tuple[str, int], float] = {}
    with tempfile.TemporaryDirectory(prefix="sgx-scale-bench-") as scratch:
        folder = Path(scratch)
        for count in COUNTS:
            path = folder / f"{count}.age"
            write_bundle(path, count, signer, recipient)
            timings["verify", count] = _best(
                lambda p=path: verify_bundle(p, expect), arguments.repeats
            )

            def open_and_close(p: Path = path) -> None:
                with Bundle.open(p, [recipient], [signer.public], work_dir=folder):
                    pass

            timings["open", count] = _best(open_and_close, arguments.repeats)
        if arguments.profile:
            profile = cProfile.Profile()
            profile.runcall(verify_bundle, folder / f"{COUNTS[-1]}.age", expect)
            pstats.Stats(profile).sort_stats("cumulative").print_stats(20)
    small, large = COUNTS
    failed = False
    print(f"{'':8}{small:>10,} files{large:>10,} files{'ratio':>8}  (linear: 10, limit 30)")
    for action in ("verify", "open"):
        ratio = timings[action, large] / timings[action, small]
        failed |= ratio > LINEAR_RATIO
        print(
            f"{action:8}{timings[action, small]:>14.3f} s{timings[action, large]:>14.3f} s"
            f"{ratio:>8.1f}"
        )
    print("FAIL: not linear" if failed else "ok: linear in the number of files")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
