"""Build well-formed and hostile bundles from parts, for the tests."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import tarfile
from dataclasses import dataclass, field
from typing import Any

import pyrage
import rfc8785

from exchange.packaging import _tar
from exchange.packaging.jws import sign_compact
from exchange.packaging.keys import EncryptionKey, SigningKey
from exchange.packaging.manifest import JWS_TYPE


@dataclass
class Parties:
    """The sending school, the receiving school and a third school, with keys."""

    sender: SigningKey = field(default_factory=SigningKey.generate)
    recipient: EncryptionKey = field(default_factory=EncryptionKey.generate)
    other_signer: SigningKey = field(default_factory=SigningKey.generate)
    other_recipient: EncryptionKey = field(default_factory=EncryptionKey.generate)
    sender_urn: str = "900001"
    recipient_urn: str = "900002"


@dataclass
class Entry:
    """One tar entry; type and declared size may lie."""

    name: str
    data: bytes = b""
    type: bytes = tarfile.REGTYPE
    linkname: str = ""
    declared_size: int | None = None


def good_files() -> dict[str, bytes]:
    """Return the files of a small valid bundle."""
    return {
        "chronology.json": b'{"format":"sgx-chronology","version":1}',
        "chronology.pdf": b"%PDF-1.7\n% fictional chronology\n%%EOF\n",
        "conversation.json": b'{"format":"sgx-conversation","version":1}',
        "vault/0001.pdf": b"%PDF-1.7\n% fictional vault document\n%%EOF\n" * 50,
    }


def manifest_for(parties: Parties, files: dict[str, bytes], **overrides: Any) -> dict[str, Any]:
    """Return a correct manifest for files, with overrides applied on top."""
    listed = [
        {"name": name, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        for name, data in files.items()
    ]
    manifest = {
        "format": "sgx-bundle",
        "version": 1,
        "transfer_id": "tr-test-0001",
        "created_at": "2025-07-01T10:31:00Z",
        "sender": {"urn": parties.sender_urn, "signing_key_id": parties.sender.key_id},
        "recipient": {
            "urn": parties.recipient_urn,
            "encryption_key_id": parties.recipient.key_id,
        },
        "pupil_ref": "0123456789abcdef0123456789abcdef",
        "file_count": len(listed),
        "files": listed,
        "redaction": {"names_replaced": 0},
    }
    manifest.update(overrides)
    return manifest


def header(entry: Entry) -> bytes:
    """Return a ustar header for an entry, however hostile."""
    info = tarfile.TarInfo(entry.name)
    info.size = len(entry.data) if entry.declared_size is None else entry.declared_size
    info.type = entry.type
    info.linkname = entry.linkname
    info.mtime = 1_751_365_860
    if entry.type != tarfile.REGTYPE:
        info.size = 0 if entry.declared_size is None else entry.declared_size
    return info.tobuf(format=tarfile.USTAR_FORMAT, encoding="utf-8", errors="strict")


def tar_of(entries: list[Entry]) -> bytes:
    """Return a ustar archive of the entries."""
    out = io.BytesIO()
    for entry in entries:
        out.write(header(entry))
        if entry.type == tarfile.REGTYPE:
            out.write(entry.data)
            out.write(_tar.padding(len(entry.data)))
    out.write(_tar.end_of_archive())
    return out.getvalue()


def encrypt(plaintext: bytes, recipient: EncryptionKey, *others: EncryptionKey) -> bytes:
    """Encrypt bytes with age to a recipient (and to others, one stanza each)."""
    return pyrage.encrypt(plaintext, [key.public.to_pyrage() for key in (recipient, *others)])


def with_fake_stanzas(data: bytes, count: int) -> bytes:
    """Return an age file with count X25519 stanzas for nobody inserted before its own."""
    version_end = data.index(b"\n") + 1
    share = base64.b64encode(os.urandom(32)).rstrip(b"=")
    body = base64.b64encode(os.urandom(32)).rstrip(b"=")
    stanza = b"-> X25519 " + share + b"\n" + body + b"\n"
    return data[:version_end] + stanza * count + data[version_end:]


def nested_json(depth: int) -> str:
    """Return a JSON array nested depth levels deep."""
    return "[" * depth + "]" * depth


def bundle(
    parties: Parties,
    *,
    files: dict[str, bytes] | None = None,
    manifest: dict[str, Any] | None = None,
    manifest_bytes: bytes | None = None,
    signer: SigningKey | None = None,
    entries: list[Entry] | None = None,
    extra: list[Entry] | None = None,
    encrypt_to: EncryptionKey | None = None,
    also_to: tuple[EncryptionKey, ...] = (),
) -> bytes:
    """Return a bundle; every part can be replaced to make it hostile."""
    files = good_files() if files is None else files
    if manifest_bytes is None:
        manifest_bytes = rfc8785.dumps(manifest or manifest_for(parties, files))
    jws = sign_compact(manifest_bytes, signer or parties.sender, JWS_TYPE)
    if entries is None:
        entries = [Entry(name, data) for name, data in files.items()]
    head = [Entry("manifest.json", manifest_bytes), Entry("manifest.jws", jws.encode())]
    plaintext = tar_of(head + entries + (extra or []))
    return encrypt(plaintext, encrypt_to or parties.recipient, *also_to)


def tool(*names: str) -> str:
    """Return the first of the named tools on PATH, or skip the test."""
    import shutil

    import pytest

    for name in names:
        found = shutil.which(name)
        if found:
            return found
    pytest.skip(f"{' or '.join(names)} is not installed")
    raise AssertionError  # pragma: no cover
