"""Encrypted blob files on disk, written atomically and named neutrally."""

from __future__ import annotations

import hashlib
import os
import secrets
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from exchange.errors import ValidationError
from exchange.vault.crypto import decrypt_stream, encrypt_stream


@dataclass(frozen=True)
class StoredBlob:
    """What was stored: the neutral key, the plaintext size and SHA-256."""

    storage_key: str
    size: int
    sha256: str


class _CountingReader:
    """Read through a source, hashing and counting bytes, refusing more than a limit."""

    def __init__(self, source: BinaryIO, limit: int) -> None:
        self._source = source
        self._limit = limit
        self.size = 0
        self.digest = hashlib.sha256()

    def read(self, amount: int = -1) -> bytes:
        data = self._source.read(amount)
        self.size += len(data)
        if self.size > self._limit:
            raise ValidationError(f"file is larger than the limit of {self._limit} bytes")
        self.digest.update(data)
        return data


class BlobStore:
    """A folder of encrypted blobs; each blob's name says nothing about its content."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path_for(self, storage_key: str) -> Path:
        """Return the file path of a blob, refusing keys that are not plain hex."""
        if len(storage_key) != 32 or not all(c in "0123456789abcdef" for c in storage_key):
            raise ValidationError("storage key must be 32 lower-case hex characters")
        return self.root / storage_key[:2] / storage_key

    def write(self, key: bytes, context: bytes, source: BinaryIO, limit: int) -> StoredBlob:
        """Encrypt the source into a new blob; the file appears only when complete."""
        storage_key = secrets.token_hex(16)
        final = self.path_for(storage_key)
        final.parent.mkdir(parents=True, exist_ok=True)
        reader = _CountingReader(source, limit)
        handle = tempfile.NamedTemporaryFile(dir=final.parent, prefix=".tmp-", delete=False)  # noqa: SIM115
        try:
            with handle:
                for chunk in encrypt_stream(key, context + storage_key.encode(), reader):  # type: ignore[arg-type]
                    handle.write(chunk)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(handle.name, final)
        except BaseException:
            Path(handle.name).unlink(missing_ok=True)
            raise
        return StoredBlob(storage_key, reader.size, reader.digest.hexdigest())

    def read(self, key: bytes, context: bytes, storage_key: str) -> Iterator[bytes]:
        """Yield the decrypted content of a blob."""
        with self.path_for(storage_key).open("rb") as handle:
            yield from decrypt_stream(key, context + storage_key.encode(), handle)

    def read_all(self, key: bytes, context: bytes, storage_key: str) -> bytes:
        """Return the whole decrypted content of a (small) blob."""
        return b"".join(self.read(key, context, storage_key))

    def delete(self, storage_key: str) -> bool:
        """Remove a blob file; return whether it existed."""
        path = self.path_for(storage_key)
        existed = path.exists()
        path.unlink(missing_ok=True)
        return existed


@dataclass
class BlobBatch:
    """Blobs written during one transaction, removed again if it fails."""

    store: BlobStore
    written: list[str] = field(default_factory=list)

    def write(self, key: bytes, context: bytes, source: BinaryIO, limit: int) -> StoredBlob:
        """Write a blob and remember it for clean-up on failure."""
        blob = self.store.write(key, context, source, limit)
        self.written.append(blob.storage_key)
        return blob

    def discard(self) -> None:
        """Delete every blob this batch wrote."""
        for storage_key in self.written:
            self.store.delete(storage_key)
        self.written.clear()


@contextmanager
def blob_batch(store: BlobStore) -> Iterator[BlobBatch]:
    """Yield a batch whose blobs are deleted if the block raises."""
    batch = BlobBatch(store)
    try:
        yield batch
    except BaseException:
        batch.discard()
        raise
