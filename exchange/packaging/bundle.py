"""Open and verify a bundle, following the numbered steps of docs/bundle-format.md.

Every failure raises InvalidBundle with the step number and a precise message.  Verifying
writes nothing to disk; opening writes only into a private temporary folder that is removed
on failure and when the Bundle is closed.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

import pyrage

from exchange.packaging import names
from exchange.packaging._tar import UstarReader
from exchange.packaging.age_header import read_header
from exchange.packaging.errors import InvalidBundle
from exchange.packaging.jws import verify_compact
from exchange.packaging.keys import EncryptionKey, SigningPublicKey
from exchange.packaging.manifest import (
    JWS_TYPE,
    MAX_MANIFEST_BYTES,
    FileEntry,
    Manifest,
    check_file_list,
    parse_manifest,
)

AGE_MAGIC = b"age-encryption.org/v1\n"
_COPY_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """Caps applied while the bundle streams (spec steps 3, 9 and 10)."""

    max_entries: int = 10_002
    max_file_bytes: int = 256 * 1024 * 1024
    max_total_bytes: int = 4 * 1024 * 1024 * 1024
    max_ratio: float = 1.0


@dataclass(frozen=True)
class Expectations:
    """Who we are and whom we expect: the checks of spec step 8."""

    identities: tuple[EncryptionKey, ...]
    sender_keys: tuple[SigningPublicKey, ...]
    recipient_urn: str | None = None
    sender_urn: str | None = None


class _Verifier:
    """The writer decrypted bytes stream into: runs spec steps 3 to 11 as they arrive."""

    def __init__(self, expect: Expectations, limits: Limits, folder: Path | None) -> None:
        self._expect = expect
        self._limits = limits
        self._folder = folder
        self._reader = UstarReader(self)
        self.manifest: Manifest | None = None
        self._manifest_raw = b""
        self.manifest_jws = ""
        self._buffer: bytearray | None = None
        self._current: FileEntry | None = None
        self._digest = hashlib.sha256()
        self._size = 0
        self._sink: BinaryIO | None = None
        self._seen: dict[str, str] = {}
        self.extracted = 0
        self.ciphertext_read = 0
        self.failure: BaseException | None = None

    # The file-like side, called by pyrage.decrypt_io.
    def write(self, data: bytes) -> int:
        """Take decrypted bytes; remember the first failure so it is not lost in Rust."""
        if self.failure is not None:
            raise self.failure
        try:
            self._reader.feed(data)
        except BaseException as exc:
            self.failure = exc
            raise
        return len(data)

    def flush(self) -> None:
        """Nothing is buffered here."""

    def writable(self) -> bool:
        """Say the stream can be written."""
        return True

    # The entry side, called by UstarReader.
    def start(self, index: int, name: str, size: int) -> None:
        """Check an entry header before any of its bytes are used (steps 3, 4, 10)."""
        if index + 1 > self._limits.max_entries:
            raise InvalidBundle(
                f"step 3: the archive has more than {self._limits.max_entries} entries"
            )
        if index < 2:
            expected = (names.MANIFEST_NAME, names.SIGNATURE_NAME)[index]
            if name != expected:
                raise InvalidBundle(f"step 4: entry {index + 1} must be {expected}, not {name!r}")
            if size > MAX_MANIFEST_BYTES:
                raise InvalidBundle(f"step 4: {name} declares {size} bytes, over the cap")
            self._buffer = bytearray()
            return
        self._current = self._listed(name, size)
        self._digest = hashlib.sha256()
        self._size = 0
        if self._folder is not None:
            self._sink = _create_private(self._folder, name)

    def data(self, chunk: memoryview) -> None:
        """Hash, count and keep entry bytes, enforcing caps on real counts (step 10)."""
        if self._buffer is not None:
            self._buffer += chunk
            return
        assert self._current is not None
        self._size += len(chunk)
        self.extracted += len(chunk)
        limits = self._limits
        if self._size > min(self._current.size, limits.max_file_bytes):
            raise InvalidBundle(f"step 10: {self._current.name} is longer than it declares")
        if self.extracted > limits.max_total_bytes:
            raise InvalidBundle(
                f"step 10: the files exceed the total size cap of {limits.max_total_bytes} bytes"
            )
        if self.extracted > limits.max_ratio * max(self.ciphertext_read, 1):
            raise InvalidBundle(
                f"step 10: {self.extracted} bytes extracted from {self.ciphertext_read} bytes "
                f"of ciphertext exceeds the expansion ratio cap of {limits.max_ratio}"
            )
        self._digest.update(chunk)
        if self._sink is not None:
            self._sink.write(chunk)

    def end(self) -> None:
        """Finish an entry: run steps 5 to 9 after the signature, or check a file's hash."""
        if self._buffer is not None:
            raw, self._buffer = bytes(self._buffer), None
            if self.manifest is None and not self._manifest_raw:
                self._manifest_raw = raw
            else:
                self.manifest = self._check_signed_manifest(raw)
            return
        assert self._current is not None
        entry, self._current = self._current, None
        if self._sink is not None:
            self._sink.close()
            self._sink = None
        if self._size != entry.size:
            raise InvalidBundle(
                f"step 10: {entry.name} holds {self._size} bytes; the manifest says {entry.size}"
            )
        if self._digest.hexdigest() != entry.sha256:
            raise InvalidBundle(
                f"step 10: the SHA-256 of {entry.name} does not match the manifest (changed file)"
            )

    def abort(self) -> None:
        """Close any half-written file after a failure."""
        if self._sink is not None:
            self._sink.close()
            self._sink = None

    @property
    def manifest_bytes(self) -> bytes:
        """Return the exact signed manifest bytes."""
        return self._manifest_raw

    def finish(self) -> Manifest:
        """Check the archive ended and every listed file arrived (step 11)."""
        self._reader.close()
        if self.manifest is None:
            raise InvalidBundle("step 4: the archive holds no signed manifest")
        missing = [e.name for e in self.manifest.files if e.name not in self._seen.values()]
        if missing:
            raise InvalidBundle(
                f"step 11: the manifest lists {missing[0]!r} but the archive does not hold it"
                + (f" ({len(missing)} files missing)" if len(missing) > 1 else "")
            )
        if self._reader.entries - 2 != self.manifest.file_count:
            raise InvalidBundle("step 11: the archive's file count does not match the manifest")
        return self.manifest

    def _check_signed_manifest(self, token_bytes: bytes) -> Manifest:
        expect = self._expect
        try:
            token = token_bytes.decode("ascii")
        except UnicodeDecodeError as exc:
            raise InvalidBundle("step 5: manifest.jws is not ASCII") from exc
        header, payload = verify_compact(token, expect.sender_keys, JWS_TYPE, "step 5")
        self.manifest_jws = token
        if payload != self._manifest_raw:
            raise InvalidBundle(
                "step 6: manifest.json differs from the payload signed in manifest.jws"
            )
        manifest = parse_manifest(payload)
        our_keys = {identity.key_id for identity in expect.identities}
        if manifest.recipient_key_id not in our_keys:
            raise InvalidBundle(
                f"step 8: the bundle is for encryption key {manifest.recipient_key_id[:16]}…, "
                "which is not one of ours"
            )
        if expect.recipient_urn is not None and manifest.recipient_urn != expect.recipient_urn:
            raise InvalidBundle(
                f"step 8: the bundle is for school {manifest.recipient_urn}, "
                f"not for us ({expect.recipient_urn})"
            )
        if manifest.sender_key_id != header["kid"]:
            raise InvalidBundle("step 8: the manifest's sender key id differs from the JWS kid")
        if expect.sender_urn is not None and manifest.sender_urn != expect.sender_urn:
            raise InvalidBundle(
                f"step 8: the manifest names sender {manifest.sender_urn}, "
                f"expected {expect.sender_urn}"
            )
        check_file_list(manifest)
        limits = self._limits
        if manifest.file_count + 2 > limits.max_entries:
            raise InvalidBundle(
                f"step 9: the manifest lists {manifest.file_count} files; the cap is "
                f"{limits.max_entries - 2}"
            )
        for entry in manifest.files:
            if entry.size > limits.max_file_bytes:
                raise InvalidBundle(
                    f"step 9: {entry.name} is {entry.size} bytes, over the per-file cap of "
                    f"{limits.max_file_bytes}"
                )
        if manifest.total_size > limits.max_total_bytes:
            raise InvalidBundle(
                f"step 9: the files total {manifest.total_size} bytes, over the cap of "
                f"{limits.max_total_bytes}"
            )
        return manifest

    def _listed(self, name: str, size: int) -> FileEntry:
        manifest = self.manifest
        if manifest is None:
            raise InvalidBundle("step 4: entries precede the signed manifest")
        names.check_name(name, "step 10: archive")
        folded = names.fold(name)
        if folded in self._seen:
            if self._seen[folded] == name:
                raise InvalidBundle(f"step 10: the archive holds {name!r} twice (duplicate)")
            raise InvalidBundle(
                f"step 10: the archive holds {self._seen[folded]!r} and {name!r}, which differ "
                "only by case"
            )
        entry = manifest.entry(name)
        if entry is None:
            twin = next((e.name for e in manifest.files if names.fold(e.name) == folded), None)
            if twin is not None:
                raise InvalidBundle(
                    f"step 10: archive entry {name!r} differs only by case from the listed {twin!r}"
                )
            raise InvalidBundle(f"step 10: archive entry {name!r} is not listed in the manifest")
        if size != entry.size:
            raise InvalidBundle(
                f"step 10: {name} declares {size} bytes in the archive; the manifest says "
                f"{entry.size}"
            )
        self._seen[folded] = name
        return entry


class _CountingReader:
    """A read()-able wrapper that counts ciphertext bytes for the ratio cap."""

    def __init__(self, source: BinaryIO, prefix: bytes, verifier: _Verifier) -> None:
        self._source = source
        self._prefix = prefix
        self._verifier = verifier

    def read(self, size: int = -1) -> bytes:
        """Return up to size bytes of ciphertext."""
        if self._prefix:
            cut = len(self._prefix) if size < 0 else size
            data, self._prefix = self._prefix[:cut], self._prefix[cut:]
        else:
            data = self._source.read(size)
        self._verifier.ciphertext_read += len(data)
        return data

    def readable(self) -> bool:
        """Say the stream can be read."""
        return True


def _create_private(folder: Path, name: str) -> BinaryIO:
    target = folder.joinpath(*name.split("/"))
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    return os.fdopen(os.open(target, flags, 0o600), "wb")


@contextlib.contextmanager
def _source(path_or_file: str | os.PathLike[str] | BinaryIO) -> Iterator[BinaryIO]:
    if isinstance(path_or_file, str | os.PathLike):
        with open(path_or_file, "rb") as handle:
            yield handle
    else:
        yield path_or_file


def _run(
    path_or_file: str | os.PathLike[str] | BinaryIO,
    expect: Expectations,
    limits: Limits,
    folder: Path | None,
) -> _Verifier:
    if not expect.identities:
        raise InvalidBundle("step 2: no identity was given to decrypt with")
    verifier = _Verifier(expect, limits, folder)
    try:
        _decrypt_and_check(path_or_file, verifier, expect.identities)
    finally:
        verifier.abort()
    return verifier


def _decrypt_and_check(
    path_or_file: str | os.PathLike[str] | BinaryIO,
    verifier: _Verifier,
    identities: Sequence[EncryptionKey],
) -> None:
    age_identities = [key.to_pyrage() for key in identities]
    with _source(path_or_file) as source:
        # Step 1: the file is not empty and starts with the age v1 header line.
        head = source.read(len(AGE_MAGIC))
        if not head:
            raise InvalidBundle("step 1: the bundle is empty (0 bytes)")
        if head != AGE_MAGIC:
            raise InvalidBundle("step 1: the bundle is not an age v1 file (bad header line)")
        # Still step 1: count the recipient stanzas before any key work.
        head = read_header(source, head)
        reader = _CountingReader(source, head, verifier)
        # Step 2: decrypt with our identities; age authenticates every 64 KiB chunk and the
        # final-chunk flag, so any changed byte, truncation or extension fails here.
        try:
            pyrage.decrypt_io(reader, verifier, age_identities)
        except (pyrage.DecryptError, OSError) as exc:
            if verifier.failure is not None:
                raise verifier.failure from None
            raise InvalidBundle(
                f"step 2: the bundle does not decrypt: {_age_reason(exc)}"
            ) from None
        if verifier.failure is not None:
            raise verifier.failure


def _age_reason(exc: Exception) -> str:
    message = str(exc) or type(exc).__name__
    if "No matching keys" in message or "no matching" in message.lower():
        return (
            "it is not encrypted to any of our encryption keys (a bundle for another "
            "recipient, or a damaged header)"
        )
    return f"{message}: the ciphertext is corrupted, truncated or tampered with"


def verify_bundle(
    path_or_file: str | os.PathLike[str] | BinaryIO,
    expect: Expectations,
    limits: Limits | None = None,
) -> Manifest:
    """Run every verification step without writing anything to disk; return the manifest."""
    return _run(path_or_file, expect, limits or Limits(), None).finish()


class Bundle:
    """A verified bundle whose files sit in a private temporary folder until closed."""

    def __init__(self, manifest: Manifest, manifest_bytes: bytes, jws: str, folder: Path) -> None:
        self.manifest = manifest
        self.manifest_bytes = manifest_bytes
        self.manifest_jws = jws
        self._folder = folder

    @classmethod
    def open(
        cls,
        path_or_file: str | os.PathLike[str] | BinaryIO,
        identities: Sequence[EncryptionKey],
        sender_public_keys: Sequence[SigningPublicKey],
        expected_recipient: str | None = None,
        limits: Limits | None = None,
        *,
        expected_sender: str | None = None,
        work_dir: str | os.PathLike[str] | None = None,
    ) -> Bundle:
        """Verify a bundle and extract its files into a private temporary folder."""
        expect = Expectations(
            tuple(identities), tuple(sender_public_keys), expected_recipient, expected_sender
        )
        folder = Path(tempfile.mkdtemp(prefix="sgx-bundle-", dir=work_dir))
        try:
            verifier = _run(path_or_file, expect, limits or Limits(), folder / "files")
            manifest = verifier.finish()
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        return cls(manifest, verifier.manifest_bytes, verifier.manifest_jws, folder)

    @classmethod
    def from_bytes(
        cls,
        data: bytes,
        identities: Sequence[EncryptionKey],
        sender_public_keys: Sequence[SigningPublicKey],
        expected_recipient: str | None = None,
        limits: Limits | None = None,
    ) -> Bundle:
        """Verify and open a bundle held in memory."""
        return cls.open(
            io.BytesIO(data), identities, sender_public_keys, expected_recipient, limits
        )

    @property
    def files_folder(self) -> Path:
        """Return the folder holding the extracted files."""
        return self._folder / "files"

    def path(self, name: str) -> Path:
        """Return the extracted path of a listed file."""
        if self.manifest.entry(name) is None:
            raise KeyError(name)
        return self.files_folder.joinpath(*name.split("/"))

    def read_bytes(self, name: str) -> bytes:
        """Return the bytes of a listed file."""
        return self.path(name).read_bytes()

    def verify(self) -> None:
        """Re-check every extracted file's size and SHA-256 against the manifest."""
        for entry in self.manifest.files:
            path = self.path(entry.name)
            digest, size = hashlib.sha256(), 0
            with path.open("rb") as handle:
                while chunk := handle.read(_COPY_CHUNK):
                    digest.update(chunk)
                    size += len(chunk)
            if size != entry.size or digest.hexdigest() != entry.sha256:
                raise InvalidBundle(f"step 10: extracted {entry.name} no longer matches")

    def extract_to(self, destination: str | os.PathLike[str]) -> Path:
        """Move the verified files into a new folder (which must not exist yet)."""
        target = Path(destination)
        if target.exists():
            raise FileExistsError(f"{target} already exists")
        shutil.move(str(self.files_folder), str(target))
        self.files_folder.mkdir()
        return target

    def close(self) -> None:
        """Remove the temporary folder."""
        shutil.rmtree(self._folder, ignore_errors=True)

    def __enter__(self) -> Bundle:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
