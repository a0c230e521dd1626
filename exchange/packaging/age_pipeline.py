"""Stream-encrypt to age as a pipeline: read, seal, then hash and write side by side.

Reading (with the vault files' re-hash), sealing, hashing the ciphertext and writing each
take a similar share of the time, and hashlib, OpenSSL's AEAD and file I/O release the GIL,
so the stages overlap on separate threads (sealing on the caller's). Queues are bounded, so
memory stays flat whatever the size of the input.
"""

from __future__ import annotations

import hashlib
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO, cast

from exchange.packaging.age_format import CHUNK_SIZE, AgeEncryption

CHUNKS_PER_SEGMENT = 16
_DEPTH = 4
_POLL_SECONDS = 0.05


@dataclass(frozen=True)
class _Segment:
    chunks: list[bytes | memoryview]
    last: bool


class _Stopped(Exception):
    """Another stage failed; this one stops quietly."""


class _Pipeline:
    """Threads joined by bounded queues; the first error stops every stage and is re-raised."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._errors: list[BaseException] = []

    def channel(self) -> queue.Queue[object]:
        """Return a new bounded queue."""
        return queue.Queue(_DEPTH)

    def start(self, name: str, target: Callable[[], None]) -> None:
        """Run target on its own thread."""

        def run() -> None:
            try:
                target()
            except _Stopped:
                pass
            except BaseException as exc:  # handed to the caller's thread
                self._errors.append(exc)
                self.stop.set()

        thread = threading.Thread(target=run, name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    def put(self, channel: queue.Queue[object], item: object) -> None:
        """Put item on channel unless the pipeline has stopped."""
        while True:
            if self.stop.is_set():
                raise _Stopped
            try:
                channel.put(item, timeout=_POLL_SECONDS)
                return
            except queue.Full:
                continue

    def get(self, channel: queue.Queue[object]) -> object:
        """Take the next item from channel unless the pipeline has stopped."""
        while True:
            if self.stop.is_set():
                raise _Stopped
            try:
                return channel.get(timeout=_POLL_SECONDS)
            except queue.Empty:
                continue

    def __enter__(self) -> _Pipeline:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: object, trace: object) -> bool:
        if kind is not None:
            self.stop.set()
        for thread in self._threads:
            thread.join()
        if self._errors:
            raise self._errors[0]
        if kind is _Stopped:
            raise RuntimeError("the encryption pipeline stopped without an error") from error
        return False


class _Segmenter:
    """Cut a stream of byte strings into 64 KiB chunks, copying only those that straddle."""

    def __init__(self, pipeline: _Pipeline, channel: queue.Queue[object]) -> None:
        self._pipeline, self._channel = pipeline, channel
        self._group: list[bytes | memoryview] = []
        self._carry = bytearray()

    def _add(self, chunk: bytes | memoryview) -> None:
        # A full group goes out only once more data exists, so it is never the last.
        if len(self._group) == CHUNKS_PER_SEGMENT:
            self._pipeline.put(self._channel, _Segment(self._group, last=False))
            self._group = []
        self._group.append(chunk)

    def feed(self, data: bytes) -> None:
        """Take the next piece of the stream."""
        view = memoryview(data)
        if self._carry:
            taken = CHUNK_SIZE - len(self._carry)
            self._carry += view[:taken]
            view = view[taken:]
            if len(self._carry) < CHUNK_SIZE:
                return
            self._add(bytes(self._carry))
            self._carry = bytearray()
        whole = len(view) - len(view) % CHUNK_SIZE
        for start in range(0, whole, CHUNK_SIZE):
            self._add(view[start : start + CHUNK_SIZE])
        self._carry += view[whole:]

    def finish(self) -> None:
        """Send the last segment: what is left, or one empty chunk for an empty stream."""
        if self._carry or not self._group:
            self._add(bytes(self._carry))
        self._pipeline.put(self._channel, _Segment(self._group, last=True))


def _segments(chunks: Iterator[bytes], pipeline: _Pipeline, channel: queue.Queue[object]) -> None:
    segmenter = _Segmenter(pipeline, channel)
    try:
        for chunk in chunks:
            segmenter.feed(chunk)
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
    segmenter.finish()


def _consume(
    pipeline: _Pipeline, channel: queue.Queue[object], use: Callable[[bytes], object]
) -> None:
    while (sealed := pipeline.get(channel)) is not None:
        use(cast(bytearray, sealed))


def _write_all(output: BinaryIO) -> Callable[[bytes], None]:
    """Return a writer that loops until a raw (partial-writing) file has taken everything."""

    def write(data: bytes) -> None:
        view = memoryview(data)
        while view:
            written = output.write(view)
            if written == 0:
                raise OSError("the output accepted no bytes")
            view = view[len(view) if written is None else written :]

    return write


def encrypt_to_recipient(
    recipient: bytes, chunks: Iterator[bytes], output: BinaryIO
) -> tuple[str, int]:
    """Write chunks age-encrypted to the recipient; return the ciphertext SHA-256 and size."""
    age = AgeEncryption.to_recipient(recipient)
    digest, size = hashlib.sha256(age.head), len(age.head)
    write = _write_all(output)
    write(age.head)
    with _Pipeline() as pipeline:
        plain, to_hash, to_write = pipeline.channel(), pipeline.channel(), pipeline.channel()
        pipeline.start("age-read", lambda: _segments(chunks, pipeline, plain))
        pipeline.start("age-hash", lambda: _consume(pipeline, to_hash, digest.update))
        pipeline.start("age-write", lambda: _consume(pipeline, to_write, write))
        last = False
        while not last:
            segment = cast(_Segment, pipeline.get(plain))
            sealed = age.sealer.seal_all(segment.chunks, last=segment.last)
            size += len(sealed)
            pipeline.put(to_hash, sealed)
            pipeline.put(to_write, sealed)
            last = segment.last
        pipeline.put(to_hash, None)
        pipeline.put(to_write, None)
    return digest.hexdigest(), size
