"""Shared settings and checks for the fuzz tests: fixed seeds, bounded examples, one property."""

from __future__ import annotations

import os
import signal
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from hypothesis import HealthCheck, settings

from exchange.errors import ExchangeError

# `fuzz/run_long.py` raises this to run many more examples with the same tests.
SCALE = max(1, int(os.environ.get("SGX_FUZZ_SCALE", "1")))
CORPUS = Path(__file__).parent / "corpus"
CRASHERS = Path(__file__).parent / "crashers"
T = TypeVar("T")


def bounded(examples: int, **extra: Any) -> settings:
    """Return settings for a deterministic, bounded run of this many examples (times SCALE)."""
    return settings(
        max_examples=examples * SCALE,
        derandomize=SCALE == 1,
        deadline=None,
        database=None,
        print_blob=True,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.filter_too_much,
        ],
        **extra,
    )


class Hang(Exception):
    """An example ran past its time limit."""


@contextmanager
def time_limit(seconds: int) -> Iterator[None]:
    """Fail the example with Hang if it runs longer than this (main thread, POSIX only)."""

    def expired(_signum: int, _frame: object) -> None:
        raise Hang(f"ran longer than {seconds}s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


# Crashes found and not yet fixed: (exception type, package file, function) of the raise.
# Each has an xfail(strict=True) regression test in tests/fuzz/test_regressions.py; when the
# lead fixes one, its entry goes and its mark goes, so the fuzz tests check the fix too.
KNOWN_CRASHES: set[tuple[str, str, str]] = set()  # Every crash found so far is fixed.


class KnownCrash(Exception):
    """Stands for an unfixed crash already reported, so the fuzz run goes on."""


def _known(error: BaseException) -> bool:
    frames = [
        frame
        for frame in traceback.extract_tb(error.__traceback__)
        if "/exchange/" in frame.filename.replace("\\", "/")
    ]
    if not frames:
        return False
    last = frames[-1]
    where = last.filename.replace("\\", "/").split("/exchange/", 1)[1]
    return (type(error).__name__, f"exchange/{where}", last.name) in KNOWN_CRASHES


def clean(call: Callable[[], T], seconds: int = 20) -> T | ExchangeError | KnownCrash:
    """Run call: return its result or the ExchangeError it raised; anything else propagates."""
    with time_limit(seconds):
        try:
            return call()
        except ExchangeError as error:
            if not str(error):
                raise AssertionError("an error must say what is wrong") from error
            return error
        except Exception as error:
            if _known(error):
                return KnownCrash(repr(error))
            raise


def corpus_files(kind: str) -> list[bytes]:
    """Return the saved inputs of one kind (corpus and crashers), sorted by name."""
    found: list[bytes] = []
    for root in (CORPUS, CRASHERS):
        folder = root / kind
        if folder.is_dir():
            found.extend(p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file())
    return found


def _apply(data: bytes, ops: list[tuple[int, int, int, int]]) -> bytes:
    buffer = bytearray(data)
    for kind, at, length, value in ops:
        if not buffer and kind != 2:
            continue
        at = at % (len(buffer) + 1)
        if kind == 0 and at < len(buffer):  # Flip one byte.
            buffer[at] ^= value or 1
        elif kind == 1:  # Delete a range.
            del buffer[at : at + length]
        elif kind == 2:  # Insert a byte run.
            buffer[at:at] = bytes([value]) * length
        elif kind == 3:  # Duplicate a range.
            buffer[at:at] = buffer[at : at + length]
        elif kind == 4:  # Truncate.
            del buffer[at:]
    return bytes(buffer)


def mutations(max_ops: int = 6):  # type: ignore[no-untyped-def]
    """Return a strategy of edits for `mutate`: flips, cuts, inserts, duplicates, truncation."""
    from hypothesis import strategies as st

    op = st.tuples(
        st.integers(0, 4), st.integers(0, 1 << 20), st.integers(1, 64), st.integers(0, 255)
    )
    return st.lists(op, min_size=1, max_size=max_ops)


def mutate(data: bytes, ops: list[tuple[int, int, int, int]]) -> bytes:
    """Return data with the edits applied."""
    return _apply(data, ops)
