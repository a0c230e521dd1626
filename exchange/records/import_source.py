"""Read an export from a folder or a zip without trusting it: paths, links, sizes and counts."""

from __future__ import annotations

import os
import stat
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from exchange.errors import ValidationError
from exchange.records.import_errors import Problem, quote_id
from exchange.records.import_paths import RECORDS_FILE, path_problem

_SYMLINK_MODE = 0o120000
_ENCRYPTED_FLAG = 0x1


# What reading a damaged zip can raise (the last two found by atheris): zipfile decodes a
# local header's name as UTF-8 when the header's flag says so, and raises NotImplementedError
# for a "version needed" or compression method it does not support.
ZIP_DAMAGE = (
    zipfile.BadZipFile,
    EOFError,
    OSError,
    zlib.error,
    UnicodeDecodeError,
    NotImplementedError,
)


@dataclass(frozen=True)
class Limits:
    """The caps an import is held to, from the instance settings."""

    max_file_bytes: int
    max_files: int
    max_total_bytes: int
    max_records_bytes: int

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Limits:
        """Read the caps from the instance settings."""
        return cls(
            max_file_bytes=int(config["MAX_VAULT_FILE_BYTES"]),
            max_files=int(config["MAX_IMPORT_FILES"]),
            max_total_bytes=int(config["MAX_IMPORT_TOTAL_BYTES"]),
            max_records_bytes=int(config["MAX_RECORDS_JSON_BYTES"]),
        )


class BoundedReader:
    """Read through a stream, refusing more bytes than it was declared or allowed to hold."""

    def __init__(self, source: BinaryIO, limit: int, where: str) -> None:
        self._source = source
        self._limit = limit
        self._where = where
        self.size = 0

    def read(self, amount: int = -1) -> bytes:
        """Return the next bytes, or raise once more than the limit has come out."""
        try:
            data = self._source.read(amount)
        except ZIP_DAMAGE as exc:
            raise ValidationError(
                "cannot be read: the entry is damaged or its declared size is false",
                where=self._where,
            ) from exc
        self.size += len(data)
        if self.size > self._limit:
            raise ValidationError(
                f"holds more than the {self._limit} bytes it may hold", where=self._where
            )
        return data


class ExportSource(Protocol):
    """An export's records.json and vault files, however they are packed."""

    entries: dict[str, int]
    problems: list[Problem]

    def read_records(self) -> bytes | None:
        """Return records.json, or None after recording why it cannot be read."""

    def open(self, name: str) -> BinaryIO:
        """Open a vault file of the export for reading."""

    def close(self) -> None:
        """Release the export."""


@dataclass
class _Tally:
    """Count files and bytes while listing, recording when a cap is passed."""

    limits: Limits
    problems: list[Problem]
    files: int = 0
    total: int = 0
    over: set[str] = field(default_factory=set)

    def count(self, size: int) -> bool:
        """Count one file; return False once there are too many to keep listing."""
        self.files += 1
        self.total += size
        if self.files > self.limits.max_files:
            self._once("files", f"holds more than {self.limits.max_files} files")
            return False
        if self.total > self.limits.max_total_bytes:
            self._once("bytes", f"holds more than {self.limits.max_total_bytes} bytes of files")
        return True

    def _once(self, kind: str, message: str) -> None:
        if kind not in self.over:
            self.over.add(kind)
            self.problems.append(Problem("export", message))


class FolderSource:
    """An export unpacked in a folder; links and special files are refused, not followed."""

    def __init__(self, root: Path, limits: Limits) -> None:
        self.root = root
        self.limits = limits
        self.entries: dict[str, int] = {}
        self.problems: list[Problem] = []
        self._list()

    def _list(self) -> None:
        tally = _Tally(self.limits, self.problems)
        for directory, subdirectories, filenames in os.walk(self.root, followlinks=False):
            base = Path(directory)
            for name in sorted(subdirectories):
                if (base / name).is_symlink():
                    self._refuse(base / name, "is a symbolic link; links are not followed")
            subdirectories.sort()
            for name in sorted(filenames):
                path = base / name
                relative = path.relative_to(self.root).as_posix()
                info = path.lstat()
                if stat.S_ISLNK(info.st_mode):
                    self._refuse(path, "is a symbolic link; links are not followed")
                elif not stat.S_ISREG(info.st_mode):
                    self._refuse(path, "is not a regular file")
                elif relative == RECORDS_FILE:
                    continue
                elif problem := path_problem(relative):
                    self._refuse(path, problem)
                else:
                    self.entries[relative] = info.st_size
                    if not tally.count(info.st_size):
                        return

    def _refuse(self, path: Path, message: str) -> None:
        relative = path.relative_to(self.root).as_posix()
        self.problems.append(Problem(f"export file {quote_id(relative)}", message))

    def read_records(self) -> bytes | None:
        """Return records.json after checking it is a small regular file."""
        path = self.root / RECORDS_FILE
        try:
            info = path.lstat()
        except FileNotFoundError:
            self.problems.append(Problem(RECORDS_FILE, "is missing from the export"))
            return None
        if not stat.S_ISREG(info.st_mode):
            self.problems.append(Problem(RECORDS_FILE, "is not a regular file (links are refused)"))
            return None
        cap = self.limits.max_records_bytes
        if info.st_size > cap:
            self.problems.append(Problem(RECORDS_FILE, f"is larger than the limit of {cap} bytes"))
            return None
        with self.open(RECORDS_FILE) as handle:
            data = handle.read(self.limits.max_records_bytes + 1)
        if len(data) > self.limits.max_records_bytes:
            self.problems.append(Problem(RECORDS_FILE, "grew past its limit while being read"))
            return None
        return data

    def open(self, name: str) -> BinaryIO:
        """Open a file of the export without following a link put in its place."""
        descriptor = os.open(self.root / name, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        return os.fdopen(descriptor, "rb")

    def close(self) -> None:
        """Nothing to release for a folder."""


class ZipSource:
    """An export packed in a zip; entries are streamed and never extracted to disk."""

    def __init__(self, path: Path, limits: Limits) -> None:
        self.limits = limits
        self.entries: dict[str, int] = {}
        self.problems: list[Problem] = []
        self._infos: dict[str, zipfile.ZipInfo] = {}
        self._records: zipfile.ZipInfo | None = None
        try:
            self._zip: zipfile.ZipFile | None = zipfile.ZipFile(path)
        except ZIP_DAMAGE:
            self._zip = None
            self.problems.append(Problem("export", "is not a readable zip file"))
            return
        self._list()

    def _list(self) -> None:
        assert self._zip is not None
        tally = _Tally(self.limits, self.problems)
        infos = self._zip.infolist()
        if len(infos) > self.limits.max_files + 1:
            self.problems.append(
                Problem(
                    "export",
                    f"holds {len(infos)} entries; at most {self.limits.max_files} files may be",
                )
            )
            return
        seen: set[str] = set()
        for info in infos:
            name = info.filename
            where = f"zip entry {quote_id(name)}"
            if not name:  # ZipInfo.is_dir() fails on it (found by atheris).
                self.problems.append(Problem(where, "has an empty name"))
                continue
            if name in seen:
                self.problems.append(Problem(where, "appears twice in the zip"))
                continue
            seen.add(name)
            if problem := path_problem(name.removesuffix("/") if info.is_dir() else name):
                self.problems.append(Problem(where, problem))
            elif (info.external_attr >> 16) & 0o170000 == _SYMLINK_MODE:
                self.problems.append(Problem(where, "is a symbolic link; links are refused"))
            elif info.flag_bits & _ENCRYPTED_FLAG:
                self.problems.append(Problem(where, "is encrypted; unpack it before importing"))
            elif info.is_dir():
                continue
            elif name == RECORDS_FILE:
                self._records = info
            else:
                self._infos[name] = info
                self.entries[name] = info.file_size
                if not tally.count(info.file_size):
                    return

    def read_records(self) -> bytes | None:
        """Return records.json after checking its declared and actual size."""
        if self._zip is None:
            return None
        info = self._records
        if info is None:
            self.problems.append(Problem(RECORDS_FILE, "is missing from the top of the zip"))
            return None
        cap = self.limits.max_records_bytes
        if info.file_size > cap:
            self.problems.append(Problem(RECORDS_FILE, f"is larger than the limit of {cap} bytes"))
            return None
        try:
            reader = BoundedReader(self._zip.open(info), info.file_size, RECORDS_FILE)
            return read_all(reader)
        except ZIP_DAMAGE as exc:
            self.problems.append(
                Problem(RECORDS_FILE, f"cannot be read: the zip is damaged ({exc})")
            )
            return None
        except ValidationError as exc:
            self.problems.append(Problem(RECORDS_FILE, exc.message))
            return None

    def open(self, name: str) -> BinaryIO:
        """Open an entry of the zip as a stream."""
        assert self._zip is not None
        try:
            return self._zip.open(self._infos[name])
        except ZIP_DAMAGE as exc:
            raise ValidationError("cannot be read: the zip entry is damaged", where=name) from exc

    def close(self) -> None:
        """Close the zip file."""
        if self._zip is not None:
            self._zip.close()


def read_all(reader: BoundedReader, chunk_size: int = 1 << 20) -> bytes:
    """Return everything a bounded reader yields."""
    chunks = []
    while chunk := reader.read(chunk_size):
        chunks.append(chunk)
    return b"".join(chunks)


@contextmanager
def open_export(path: Path, limits: Limits) -> Iterator[ExportSource]:
    """Open a folder or zip export; the caller checks `problems` before trusting anything."""
    path = Path(path)
    if path.is_dir():
        source: ExportSource = FolderSource(path, limits)
    elif path.is_file():
        source = ZipSource(path, limits)
    else:
        raise ValidationError("is neither a folder nor a zip file", where="export")
    try:
        yield source
    finally:
        source.close()
