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
from exchange.packaging.errors import BundleReadError, InvalidBundle
from exchange.packaging.jws import verify_compact
from exchange.packaging.keys import EncryptionKey, SigningPublicKey
from exchange.packaging.manifest import (
    JWS_TYPE,
    MAX_MANIFEST_BYTES,
    MAX_SIGNATURE_BYTES,
    FileEntry,
    Manifest,
    check_file_list,
    parse_manifest,
)
from exchange.vault.workdirs import claim_work_dir, release_work_dir

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
        self._head_index: int | None = None  # 0 or 1 while manifest.json or .jws streams
        self._buffer = bytearray()
        self._current: FileEntry | None = None
        self._next = 0  # Index in manifest.files of the file the archive must hold next.
        self._folded: dict[str, str] | None = None
        self._digest = hashlib.sha256()
        self._size = 0
        self._sink: BinaryIO | None = None
        self._seen: dict[str, str] = {}
        self.extracted = 0
        self.ciphertext_read = 0
        self.step = 2
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
        self.step = 3
        if index + 1 > self._limits.max_entries:
            raise InvalidBundle(
                f"step 3: the archive has more than {self._limits.max_entries} entries"
            )
        if index < 2:
            self.step = 4
            expected = (names.MANIFEST_NAME, names.SIGNATURE_NAME)[index]
            if name != expected:
                raise InvalidBundle(f"step 4: entry {index + 1} must be {expected}, not {name!r}")
            cap = (MAX_MANIFEST_BYTES, MAX_SIGNATURE_BYTES)[index]
            if size > cap:
                raise InvalidBundle(f"step 4: {name} declares {size} bytes, over its cap of {cap}")
            if size == 0:
                raise InvalidBundle(f"step 4: {name} is empty")
            self._head_index = index
            self._buffer = bytearray()
            return
        self.step = 10
        self._current = self._listed(name, size)
        self._digest = hashlib.sha256()
        self._size = 0
        if self._folder is not None:
            self._sink = _create_private(self._folder, name)

    def data(self, chunk: memoryview) -> None:
        """Hash, count and keep entry bytes, enforcing caps on real counts (step 10)."""
        if self._head_index is not None:
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
        if self._head_index is not None:
            raw, self._buffer = bytes(self._buffer), bytearray()
            index, self._head_index = self._head_index, None
            if index == 0:
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
        self.step = 11
        self._reader.close()
        if self.manifest is None:
            raise InvalidBundle("step 4: the archive holds no signed manifest")
        missing = [entry.name for entry in self.manifest.files[self._next :]]
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
        self.step = 5
        try:
            token = token_bytes.decode("ascii")
        except UnicodeDecodeError as exc:
            raise InvalidBundle("step 5: manifest.jws is not ASCII") from exc
        header, payload = verify_compact(token, expect.sender_keys, JWS_TYPE, "step 5")
        self.manifest_jws = token
        self.step = 6
        if payload != self._manifest_raw:
            raise InvalidBundle(
                "step 6: manifest.json differs from the payload signed in manifest.jws"
            )
        self.step = 7
        manifest = parse_manifest(payload)
        self.step = 8
        _check_parties(manifest, header["kid"], expect)
        self.step = 9
        check_file_list(manifest)
        _check_caps(manifest, self._limits)
        return manifest

    def _listed(self, name: str, size: int) -> FileEntry:
        manifest = self.manifest
        if manifest is None:
            raise InvalidBundle("step 4: the archive holds no signed manifest before its files")
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
            if self._folded is None:
                self._folded = {names.fold(e.name): e.name for e in manifest.files}
            twin = self._folded.get(folded)
            if twin is not None:
                raise InvalidBundle(
                    f"step 10: archive entry {name!r} differs only by case from the listed {twin!r}"
                )
            raise InvalidBundle(f"step 10: archive entry {name!r} is not listed in the manifest")
        expected = manifest.files[self._next]
        if entry is not expected:
            raise InvalidBundle(
                f"step 10: archive entry {name!r} comes where the manifest lists "
                f"{expected.name!r}; files must be in manifest order"
            )
        if size != entry.size:
            raise InvalidBundle(
                f"step 10: {name} declares {size} bytes in the archive; the manifest says "
                f"{entry.size}"
            )
        self._seen[folded] = name
        self._next += 1
        return entry


def _check_parties(manifest: Manifest, kid: str, expect: Expectations) -> None:
    """Step 8: the bundle is for us, and from whom the signature says."""
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
    if manifest.sender_key_id != kid:
        raise InvalidBundle("step 8: the manifest's sender key id differs from the JWS kid")
    if expect.sender_urn is not None and manifest.sender_urn != expect.sender_urn:
        raise InvalidBundle(
            f"step 8: the manifest names sender {manifest.sender_urn}, expected {expect.sender_urn}"
        )


def _check_caps(manifest: Manifest, limits: Limits) -> None:
    """Step 9: the listed files are within the reader's caps."""
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
            try:
                data = self._source.read(size)
            except BaseException as exc:  # A read error or a signal is not a bad bundle.
                self._verifier.failure = exc
                raise
        self._verifier.ciphertext_read += len(data)
        return data

    def readable(self) -> bool:
        """Say the stream can be read."""
        return True


def _remove(folder: Path, registered: bool) -> None:
    if registered:
        release_work_dir(folder)
    else:
        shutil.rmtree(folder, ignore_errors=True)


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
    except InvalidBundle:
        raise
    except Exception as exc:
        raise _crash(verifier.step, exc) from exc
    finally:
        verifier.abort()
    return verifier


def _crash(step: int, exc: Exception) -> BundleReadError:
    """Word a failure of our own (not the bundle's), naming the step it happened in."""
    detail = str(exc).splitlines()[0][:200] if str(exc) else ""
    return BundleReadError(
        f"step {step}: the reader failed ({type(exc).__name__}{': ' if detail else ''}{detail}); "
        "the bundle was neither accepted nor refused"
    )


def _finish(verifier: _Verifier) -> Manifest:
    try:
        return verifier.finish()
    except InvalidBundle:
        raise
    except Exception as exc:
        raise _crash(verifier.step, exc) from exc


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


# What pyrage (the Rust age crate) says, in our words; its own text can mislead.
_AGE_REASONS = (
    ("no matching keys", "it is not encrypted to any of our encryption keys (a bundle for "
     "another recipient, or a damaged recipient stanza)"),
    ("header mac", "the age header's MAC does not verify (the header was changed)"),
    ("header is invalid", "the age header is malformed"),
    ("incomplete header", "the age header is malformed"),
    ("unknown age format", "the age header is malformed"),
)  # fmt: skip


def _age_reason(exc: Exception) -> str:
    message = str(exc).lower()
    for needle, reason in _AGE_REASONS:
        if needle in message:
            return reason
    return "the ciphertext is corrupted, truncated or tampered with"


def verify_bundle(
    path_or_file: str | os.PathLike[str] | BinaryIO,
    expect: Expectations,
    limits: Limits | None = None,
) -> Manifest:
    """Run every verification step without writing anything to disk; return the manifest."""
    return _finish(_run(path_or_file, expect, limits or Limits(), None))


class Bundle:
    """A verified bundle whose files sit in a private temporary folder until closed."""

    def __init__(
        self,
        manifest: Manifest,
        manifest_bytes: bytes,
        jws: str,
        folder: Path,
        registered: bool = False,
    ) -> None:
        self.manifest = manifest
        self.manifest_bytes = manifest_bytes
        self.manifest_jws = jws
        self._folder = folder
        self._registered = registered

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
        register: bool = False,
    ) -> Bundle:
        """Verify a bundle and extract its files into a private temporary folder.

        With register, the folder is recorded (exchange.vault.workdirs) so that a later run
        removes it if this process is killed; the service's own work_dir is swept by pid.
        """
        expect = Expectations(
            tuple(identities), tuple(sender_public_keys), expected_recipient, expected_sender
        )
        if register:
            folder = claim_work_dir(Path(work_dir or tempfile.gettempdir()))
        else:
            folder = Path(tempfile.mkdtemp(prefix="sgx-bundle-", dir=work_dir))
        try:
            verifier = _run(path_or_file, expect, limits or Limits(), folder / "files")
            manifest = _finish(verifier)
        except BaseException:
            _remove(folder, register)
            raise
        return cls(manifest, verifier.manifest_bytes, verifier.manifest_jws, folder, register)

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
        _remove(self._folder, self._registered)

    def __enter__(self) -> Bundle:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
