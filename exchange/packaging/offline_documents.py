"""The inner documents.zip: each document under its redacted title, inside the AES zip.

Zip entry names are never encrypted, so titled names live in a plain zip whose bytes are
themselves one encrypted entry of the outer AES zip.
"""

from __future__ import annotations

import hashlib
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import BinaryIO

from exchange.errors import ValidationError
from exchange.packaging.build import CHUNK
from exchange.packaging.content import DocumentEntry, VaultFile
from exchange.packaging.safe_names import safe_file_name

ZIP64_AFTER = 1 << 30  # Past 1 GiB, write Zip64 records rather than risk the 4 GiB limit.


@dataclass(frozen=True)
class TitledDocument:
    """A document as the receiver sees it: its file name in documents.zip and its details."""

    entry: DocumentEntry
    file_name: str
    category: str = ""


class HashingWriter:
    """A write-only stream that hashes and counts what passes through it."""

    def __init__(self, target: BinaryIO) -> None:
        self._target = target
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        """Write data through, hashing it."""
        self.digest.update(data)
        self.size += len(data)
        return self._target.write(data)

    def flush(self) -> None:
        """Flush the target."""
        self._target.flush()


def titled_documents(
    documents: Sequence[DocumentEntry], categories: Mapping[str, str]
) -> list[TitledDocument]:
    """Return each document with a unique, portable name made from its title."""
    taken: set[str] = set()
    result = []
    for number, entry in enumerate(documents, start=1):
        extension = entry.name.rsplit(".", 1)[-1] if "." in entry.name else "bin"
        name = safe_file_name(entry.title, extension, f"Document {number}", taken)
        result.append(TitledDocument(entry, name, categories.get(entry.name, "")))
    return result


def write_documents_zip(
    target: BinaryIO,
    vault_files: Sequence[VaultFile],
    documents: Sequence[TitledDocument],
    fallback: date,
) -> tuple[int, str]:
    """Stream documents.zip into target, checking every file's hash; return its size, SHA-256."""
    writer = HashingWriter(target)
    with zipfile.ZipFile(writer, "w", compression=zipfile.ZIP_STORED) as inner:
        for vault_file, document in zip(vault_files, documents, strict=True):
            stamp = max(document.entry.document_date or fallback, date(1980, 1, 1))
            info = zipfile.ZipInfo(document.file_name, date_time=(*stamp.timetuple()[:3], 0, 0, 0))
            info.compress_type = zipfile.ZIP_STORED
            info.external_attr = 0o600 << 16
            info.file_size = document.entry.size
            with inner.open(info, "w", force_zip64=document.entry.size > ZIP64_AFTER) as out:
                copy_checked(vault_file, document.entry, out)
    return writer.size, writer.digest.hexdigest()


def copy_checked(vault_file: VaultFile, entry: DocumentEntry, target: BinaryIO) -> None:
    """Copy a vault file to target, refusing if it no longer matches its listed hash."""
    digest, size = hashlib.sha256(), 0
    with vault_file.opener() as source:
        while chunk := source.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
            target.write(chunk)
    if (size, digest.hexdigest()) != (entry.size, entry.sha256):
        raise ValidationError(f"vault file {entry.name} changed while the export was written")
