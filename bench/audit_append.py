"""Measure audit append + root cost with the frontier against re-hashing the whole log.

Run on demand: `python bench/audit_append.py` (about a minute). In memory, merkle layer
only: what record_event() and make_checkpoint() do per entry besides one row read and one
row write. The baseline, measured in the same run, recomputes MTH over every leaf.
"""

from __future__ import annotations

import argparse
import hashlib
import time
from collections.abc import Callable

from exchange.audit.merkle import Frontier, hash_leaf, root_of

SIZES = (10**3, 10**5, 10**6)
APPENDS_PER_SIZE = 2000
SAMPLE_ENTRY = b'{"actor":{"role":"dsl","user":"7"},"details":{},"event":"record.viewed"}'


def timed(action: Callable[[], object], repeat: int) -> float:
    """Return the best-of-three mean seconds per call over `repeat` calls."""
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(repeat):
            action()
        best = min(best, (time.perf_counter() - start) / repeat)
    return best


def leaves(count: int, offset: int = 0) -> list[bytes]:
    """Return count distinct leaf hashes."""
    return [hashlib.sha256(n.to_bytes(8, "big")).digest() for n in range(offset, offset + count)]


def frontier_cost(base: list[bytes]) -> float:
    """Return seconds per append + root + serialise, for a log of len(base) entries."""
    frontier = Frontier()
    for leaf in base:
        frontier.append(leaf)
    extra = iter(leaves(APPENDS_PER_SIZE * 3 + 10, offset=len(base)))

    def append_and_root() -> None:
        frontier.append(hash_leaf(next(extra)))
        frontier.root()
        frontier.to_bytes()

    return timed(append_and_root, APPENDS_PER_SIZE)


def rehash_cost(base: list[bytes]) -> float:
    """Return seconds per append + full recomputation of the root over every leaf."""
    log = list(base)
    repeat = max(1, 2000 // max(1, len(base) // 100))

    def append_and_rehash() -> None:
        log.append(hash_leaf(SAMPLE_ENTRY))
        root_of(log)

    return timed(append_and_rehash, repeat)


def main() -> None:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--baseline-max",
        type=int,
        default=10**6,
        help="largest size at which to measure the full re-hash (default: every size)",
    )
    args = parser.parse_args()
    print(f"{'entries':>10} {'frontier append+root':>22} {'full re-hash':>14} {'ratio':>10}")
    for size in SIZES:
        base = leaves(size)
        fast = frontier_cost(base)
        slow = rehash_cost(base) if size <= args.baseline_max else None
        slow_text = f"{slow * 1e3:11.2f} ms" if slow is not None else f"{'(skipped)':>14}"
        ratio = f"{slow / fast:9.0f}x" if slow is not None else f"{'-':>10}"
        print(f"{size:>10} {fast * 1e6:19.2f} us {slow_text} {ratio}")
    print(
        "frontier: O(log n) hashes per append; re-hash: O(n). "
        "Per entry the service also reads one frontier and writes one row."
    )


if __name__ == "__main__":
    main()
