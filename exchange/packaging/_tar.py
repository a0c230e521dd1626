"""Write and strictly read the inner archive: POSIX ustar, regular files only, uncompressed.

The reader is push-based so it can sit behind a streaming decryptor: feed() it bytes as they
are decrypted, and it calls the handler for each entry header and each slice of entry data.
It never trusts a header for more than the handler allows, and it counts the real bytes.
"""

from __future__ import annotations

import tarfile
from collections.abc import Iterator
from typing import Protocol

from exchange.packaging.errors import InvalidBundle

BLOCK = 512
_END = bytes(2 * BLOCK)
_REGULAR = (b"0", b"\x00")
_TYPE_NAMES = {
    b"1": "a hard link",
    b"2": "a symbolic link",
    b"3": "a character device",
    b"4": "a block device",
    b"5": "a directory",
    b"6": "a FIFO",
    b"7": "a contiguous file",
    b"x": "a pax extended header",
    b"g": "a pax global header",
    b"L": "a GNU long name",
    b"K": "a GNU long link name",
    b"S": "a GNU sparse file",
}
_COMPRESSED_MAGIC = {
    b"\x1f\x8b": "gzip",
    b"BZh": "bzip2",
    b"\xfd7zXZ\x00": "xz",
    b"\x28\xb5\x2f\xfd": "zstd",
    b"PK\x03\x04": "zip",
}


def entry_header(name: str, size: int, mtime: int) -> bytes:
    """Return the 512-byte ustar header of a regular file entry."""
    info = tarfile.TarInfo(name)
    info.size = size
    info.mtime = mtime
    info.mode = 0o644
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.type = tarfile.REGTYPE
    return info.tobuf(format=tarfile.USTAR_FORMAT, encoding="utf-8", errors="strict")


def padding(size: int) -> bytes:
    """Return the zero bytes that pad an entry of size bytes to a whole block."""
    return bytes(-size % BLOCK)


def end_of_archive() -> bytes:
    """Return the two zero blocks that end an archive."""
    return _END


def entry_chunks(name: str, data: bytes, mtime: int) -> Iterator[bytes]:
    """Yield the header, data and padding of an in-memory entry."""
    yield entry_header(name, len(data), mtime)
    yield data
    yield padding(len(data))


class EntryHandler(Protocol):
    """What the reader calls as it meets entries."""

    def start(self, index: int, name: str, size: int) -> None:
        """Accept or reject an entry header (raise InvalidBundle to reject)."""

    def data(self, chunk: memoryview) -> None:
        """Take the next slice of the current entry's data."""

    def end(self) -> None:
        """Finish the current entry."""


class UstarReader:
    """A strict, push-based reader of the v1 inner archive."""

    def __init__(self, handler: EntryHandler) -> None:
        self._handler = handler
        self._buffer = bytearray()
        self._remaining = 0  # Data bytes still due for the current entry.
        self._padding = 0  # Padding bytes still due after it.
        self._in_entry = False
        self._zero_blocks = 0
        self._ended = False
        self._first = True
        self.entries = 0

    def feed(self, data: bytes | memoryview) -> None:
        """Consume the next decrypted bytes."""
        view = memoryview(data)
        while view:
            if self._ended:
                if any(view):
                    raise InvalidBundle("step 11: non-zero data follows the end of the archive")
                return
            if self._remaining:
                taken = view[: self._remaining]
                self._remaining -= len(taken)
                self._handler.data(taken)
                view = view[len(taken) :]
                if not self._remaining:
                    self._finish_data()
                continue
            if self._padding:
                skipped = view[: self._padding]
                if any(skipped):
                    raise InvalidBundle("step 3: entry padding holds non-zero bytes")
                self._padding -= len(skipped)
                view = view[len(skipped) :]
                continue
            needed = BLOCK - len(self._buffer)
            self._buffer += view[:needed]
            view = view[needed:]
            if len(self._buffer) == BLOCK:
                block = bytes(self._buffer)
                self._buffer.clear()
                self._header(block)

    def close(self) -> None:
        """Check the archive ended properly."""
        if not self._ended:
            raise InvalidBundle(
                "step 11: the inner archive ends without its end-of-archive marker (truncated)"
            )

    def _finish_data(self) -> None:
        self._in_entry = False
        self._handler.end()

    def _header(self, block: bytes) -> None:
        if self._first:
            self._first = False
            for magic, kind in _COMPRESSED_MAGIC.items():
                if block.startswith(magic):
                    raise InvalidBundle(
                        f"step 3: the inner archive is {kind} data; version 1 requires an "
                        "uncompressed POSIX ustar archive"
                    )
        if block == bytes(BLOCK):
            self._zero_blocks += 1
            if self._zero_blocks == 2:
                self._ended = True
            return
        if self._zero_blocks:
            raise InvalidBundle("step 3: a lone zero block sits in the middle of the archive")
        index = self.entries
        name, size, typeflag = _parse_header(block, index)
        if typeflag not in _REGULAR:
            kind = _TYPE_NAMES.get(typeflag, f"of unknown type {typeflag!r}")
            raise InvalidBundle(
                f"step 3: entry {index + 1} ({name!r}) is {kind}; only regular files are allowed"
            )
        if any(block[157:257]):
            raise InvalidBundle(
                f"step 3: entry {index + 1} ({name!r}) has a link name; a regular file has none"
            )
        self.entries += 1
        self._handler.start(index, name, size)
        self._remaining = size
        self._padding = -size % BLOCK
        self._in_entry = True
        if size == 0:
            self._finish_data()


# Numeric ustar fields (offset, length, name); every one must be octal (step 3).
_NUMERIC = (
    (100, 8, "mode"),
    (108, 8, "uid"),
    (116, 8, "gid"),
    (124, 12, "size"),
    (136, 12, "mtime"),
    (329, 8, "devmajor"),
    (337, 8, "devminor"),
)
_MAY_BE_EMPTY = frozenset({"devmajor", "devminor"})


def _parse_header(block: bytes, index: int) -> tuple[str, int, bytes]:
    where = f"entry {index + 1}"
    stored = _octal(block[148:156], where, "checksum")
    computed = sum(block[:148]) + 8 * 0x20 + sum(block[156:])
    if stored != computed:
        raise InvalidBundle(f"step 3: {where} has a bad header checksum (not a ustar archive?)")
    if block[257:265] != b"ustar\x0000":
        raise InvalidBundle(f"step 3: {where} is not a POSIX ustar header")
    numbers = {
        what: _octal(block[start : start + length], where, what, empty_ok=what in _MAY_BE_EMPTY)
        for start, length, what in _NUMERIC
    }
    raw_name, _, tail = block[0:100].partition(b"\x00")
    if any(tail):
        raise InvalidBundle(f"step 3: {where} has bytes after the NUL that ends its name")
    if any(block[345:500]):
        raise InvalidBundle(
            f"step 3: {where} uses the ustar prefix field; names fit the 100-byte name field"
        )
    try:
        name = raw_name.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidBundle(f"step 3: {where} has a name that is not UTF-8") from exc
    return name, numbers["size"], block[156:157]


def _octal(field: bytes, where: str, what: str, *, empty_ok: bool = False) -> int:
    """Read a numeric field: octal digits (leading spaces allowed), then only NULs or spaces."""
    if field[:1] and field[0] & 0x80:
        raise InvalidBundle(f"step 3: {where} uses a base-256 {what}; ustar fields are octal")
    digits = field.lstrip(b" ")
    end = len(digits) - len(digits.lstrip(b"01234567"))
    if end == 0 and empty_ok and not digits.strip(b" \x00"):
        return 0
    if end == 0 or digits[end:].strip(b" \x00"):
        raise InvalidBundle(f"step 3: {where} has a malformed {what} field (octal digits only)")
    return int(digits[:end], 8)
