"""Measure the wrapping-key rotation that follows a purge, against the purge itself.

Run on demand: `python bench/rewrap_bench.py` (about a minute, mostly setup). It builds the
purge bench's school (bench/purge_bench.py: 10,000 due incidents of 1,000 pupils) beside
10 incidents each of --survivors pupils that are kept (default 1,000 and 10,000: two cases),
times the purge, then the rotation that moves every surviving pupil key to a new epoch and
destroys the old epoch's file. The rotation's work is O(surviving pupils) of the instance,
whatever was purged: one unwrap and one wrap of a 32-byte key and one UPDATE per pupil. The
purge is the same-run baseline; the ratio of the two cases shows the rotation is linear."""

from __future__ import annotations

import argparse
import base64
import secrets
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parent))

from purge_bench import DUE, NOW, PER_PUPIL, _populate

from exchange.db import Base
from exchange.instance import open_instance
from exchange.records.models import PupilDataKey
from exchange.retention.purge import purge_school, rotate_wrapping_key
from exchange.vault.epochs import EpochKeys

CASES = (1_000, 10_000)


def run_case(survivors: int) -> tuple[float, float, int]:
    """Return the purge's and the rotation's wall seconds, and the keys rewrapped."""
    with tempfile.TemporaryDirectory(prefix="sgx-rewrap-bench-") as folder:
        home = Path(folder)
        instance = open_instance(
            {
                "HOME": home,
                "DATABASE_URL": f"sqlite:///{home / 'bench.sqlite3'}",
                "INSTANCE_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
            }
        )
        Base.metadata.create_all(instance.engine)
        started = time.perf_counter()
        school_id = _populate(instance, survivors * PER_PUPIL)
        print(f"  setup: {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        result = purge_school(
            instance.sessions, instance.blobs, instance.instance_key, school_id, now=NOW
        )
        purge = time.perf_counter() - started
        assert result.totals["incidents"] == DUE, result.totals
        started = time.perf_counter()
        epoch = rotate_wrapping_key(instance.sessions, instance.instance_key)
        rotation = time.perf_counter() - started
        assert epoch == 2, epoch
        assert EpochKeys(instance.wrapping_key_dir, instance.instance_key).epochs() == [2]
        with instance.sessions() as session:
            rewrapped = session.scalar(select(func.count()).where(PupilDataKey.wrapping_epoch == 2))
        assert rewrapped == survivors, rewrapped
        instance.close()
        return purge, rotation, int(rewrapped or 0)


def main() -> None:
    """Time both cases; print the rotation against the purge and the scaling ratio."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.parse_args()
    rotations = []
    for survivors in CASES:
        print(f"{DUE:,} due incidents purged, {survivors:,} surviving pupils:")
        purge, rotation, keys = run_case(survivors)
        rotations.append(rotation)
        print(f"  purge: {purge:.2f} s")
        print(
            f"  rotation: {rotation:.2f} s for {keys:,} keys "
            f"({rotation / keys * 1e6:.0f} us a key; {rotation / purge:.2f}x the purge)"
        )
    ratio = rotations[1] / rotations[0]
    print(f"rotation ratio ({CASES[1]:,} / {CASES[0]:,} survivors): {ratio:.1f}x (linear: 10x)")


if __name__ == "__main__":
    main()
