"""Check an export's vault files against its documents: present, listed, sized and hashed."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from exchange.errors import ValidationError
from exchange.records.import_errors import Problems, quote_id, record_where
from exchange.records.import_source import BoundedReader, ExportSource

CHUNK_BYTES = 1 << 20


def hash_file(source: ExportSource, name: str, size: int, tick: Callable[[int], None]) -> str:
    """Return the SHA-256 of an export file, refusing it if it holds more than its size."""
    digest = hashlib.sha256()
    with source.open(name) as handle:
        reader = BoundedReader(handle, size, f"export file {quote_id(name)}")
        while chunk := reader.read(CHUNK_BYTES):
            digest.update(chunk)
            tick(len(chunk))
    if reader.size != size:
        raise ValidationError(f"holds {reader.size} bytes, not {size}")
    return digest.hexdigest()


def check_files(
    source: ExportSource,
    documents: list[dict[str, Any]],
    max_file_bytes: int,
    problems: Problems,
    tick: Callable[[int], None],
) -> None:
    """Record files that are missing, unlisted, too large, of the wrong size or content."""
    listed = {document["file"] for document in documents}
    for name in sorted(set(source.entries) - listed):
        problems.add(f"export file {quote_id(name)}", "is not the file of any document")
    for index, document in enumerate(documents):
        where = record_where("documents", index, document)
        actual = source.entries.get(document["file"])
        if actual is None:
            problems.add(f"{where}.file", f"{quote_id(document['file'])} is not in the export")
            continue
        if actual > max_file_bytes:
            problems.add(f"{where}.file", f"is larger than the limit of {max_file_bytes} bytes")
            continue
        if actual != document["size"]:
            declared = document["size"]
            problems.add(f"{where}.size", f"says {declared} bytes but the file has {actual}")
            continue
        try:
            sha256 = hash_file(source, document["file"], actual, tick)
        except ValidationError as exc:
            problems.add(f"{where}.file", exc.message)
            continue
        if sha256 != document["sha256"]:
            problems.add(f"{where}.sha256", "does not match the SHA-256 of the file's content")
