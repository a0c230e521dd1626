"""Build a bundle: hash the vault, render the chronology, sign the manifest, stream-encrypt."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import BinaryIO

from exchange.errors import ValidationError
from exchange.packaging import _tar, names
from exchange.packaging.age_pipeline import encrypt_to_recipient
from exchange.packaging.chronology_pdf import render_chronology_pdf
from exchange.packaging.content import Chronology, DocumentEntry, VaultFile
from exchange.packaging.jws import sign_compact
from exchange.packaging.keys import EncryptionPublicKey, SigningKey
from exchange.packaging.manifest import JWS_TYPE, FileEntry, Manifest
from exchange.packaging.serialize import chronology_json, conversation_json

CHUNK = 1024 * 1024


@dataclass(frozen=True)
class BuiltBundle:
    """What the sender keeps about a bundle it built."""

    manifest: Manifest
    manifest_bytes: bytes
    manifest_jws: str
    ciphertext_sha256: str
    ciphertext_size: int


@dataclass(frozen=True)
class _Member:
    name: str
    size: int
    sha256: str
    chunks: Callable[[], Iterator[bytes]]


def pseudonymous_pupil_ref(secret: bytes, upn: str) -> str:
    """Return a stable pseudonymous reference for a pupil: HMAC-SHA256, 128 bits, hex."""
    return hmac.new(secret, upn.upper().encode("ascii"), hashlib.sha256).hexdigest()[:32]


def measure(opener: Callable[[], BinaryIO]) -> tuple[int, str]:
    """Return the size and SHA-256 of a stream, reading it once in chunks."""
    digest, size = hashlib.sha256(), 0
    with opener() as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def document_entries(vault_files: Sequence[VaultFile]) -> list[DocumentEntry]:
    """Return the document list, hashing any vault file whose hash is not known yet."""
    entries, seen = [], set()
    for vault_file in vault_files:
        names.check_name(vault_file.name, "vault file")
        if not vault_file.name.startswith("vault/") or names.fold(vault_file.name) in seen:
            raise ValidationError(
                f"vault file name {vault_file.name!r} is not a unique vault/ name"
            )
        seen.add(names.fold(vault_file.name))
        size, sha = vault_file.size, vault_file.sha256
        if size is None or sha is None:
            size, sha = measure(vault_file.opener)
        entries.append(
            DocumentEntry(vault_file.name, vault_file.title, sha, size, vault_file.document_date)
        )
    return entries


def _in_memory(name: str, data: bytes) -> _Member:
    return _Member(name, len(data), hashlib.sha256(data).hexdigest(), lambda: iter((data,)))


def _from_vault(vault_file: VaultFile, entry: DocumentEntry) -> _Member:
    def chunks() -> Iterator[bytes]:
        digest, size = hashlib.sha256(), 0
        with vault_file.opener() as handle:
            while chunk := handle.read(CHUNK):
                digest.update(chunk)
                size += len(chunk)
                if size > entry.size:
                    break
                yield chunk
        if size != entry.size or digest.hexdigest() != entry.sha256:
            raise ValidationError(f"vault file {entry.name} changed while the bundle was built")

    return _Member(entry.name, entry.size, entry.sha256, chunks)


def make_manifest(
    *,
    transfer_id: str,
    created_at: datetime,
    sender_urn: str,
    signing_key: SigningKey,
    recipient_urn: str,
    recipient_key: EncryptionPublicKey,
    pupil_ref: str,
    files: Sequence[FileEntry],
    redaction: dict[str, int],
) -> Manifest:
    """Return the manifest for the given files."""
    return Manifest(
        transfer_id=transfer_id,
        created_at=created_at.astimezone(UTC).replace(microsecond=0),
        sender_urn=sender_urn,
        sender_key_id=signing_key.key_id,
        recipient_urn=recipient_urn,
        recipient_key_id=recipient_key.key_id,
        pupil_ref=pupil_ref,
        files=tuple(files),
        redaction=redaction,
    )


def archive_chunks(
    manifest_bytes: bytes, jws: str, members: Sequence[_Member], mtime: int
) -> Iterator[bytes]:
    """Yield the inner ustar archive: manifest, signature, then every listed file."""
    yield from _tar.entry_chunks(names.MANIFEST_NAME, manifest_bytes, mtime)
    yield from _tar.entry_chunks(names.SIGNATURE_NAME, jws.encode("ascii"), mtime)
    for member in members:
        yield _tar.entry_header(member.name, member.size, mtime)
        yield from member.chunks()
        yield _tar.padding(member.size)
    yield _tar.end_of_archive()


def encrypt_to(
    recipient: EncryptionPublicKey, chunks: Iterator[bytes], output: BinaryIO
) -> tuple[str, int]:
    """Stream-encrypt chunks to the recipient with age; return ciphertext SHA-256 and size."""
    return encrypt_to_recipient(recipient.raw, chunks, output)


def build_bundle(
    output: BinaryIO,
    *,
    chronology: Chronology,
    vault_files: Sequence[VaultFile],
    signing_key: SigningKey,
    recipient_key: EncryptionPublicKey,
    pupil_ref: str,
) -> BuiltBundle:
    """Write the encrypted bundle for a transfer to output and return what the sender keeps."""
    documents = document_entries(vault_files)
    chronology = dataclasses.replace(chronology, documents=tuple(documents))
    members = [
        _in_memory("chronology.json", chronology_json(chronology)),
        _in_memory("chronology.pdf", render_chronology_pdf(chronology)),
        _in_memory("conversation.json", conversation_json(chronology)),
    ]
    members += [_from_vault(f, e) for f, e in zip(vault_files, documents, strict=True)]
    manifest = make_manifest(
        transfer_id=chronology.transfer_id,
        created_at=chronology.generated_at,
        sender_urn=chronology.sender.urn,
        signing_key=signing_key,
        recipient_urn=chronology.recipient.urn,
        recipient_key=recipient_key,
        pupil_ref=pupil_ref,
        files=[FileEntry(m.name, m.size, m.sha256) for m in members],
        redaction=chronology.redaction.to_json(),
    )
    manifest_bytes = manifest.to_bytes()
    jws = sign_compact(manifest_bytes, signing_key, JWS_TYPE)
    mtime = int(manifest.created_at.timestamp())
    digest, size = encrypt_to(
        recipient_key, archive_chunks(manifest_bytes, jws, members, mtime), output
    )
    return BuiltBundle(manifest, manifest_bytes, jws, digest, size)
