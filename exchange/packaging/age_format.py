"""Write the age v1 format to one X25519 recipient, with OpenSSL's primitives.

The steps follow the age specification (https://age-encryption.org/v1, C2SP): a header with
one X25519 stanza and an HMAC, a 16-byte nonce, then the payload sealed with
ChaCha20-Poly1305 in 64 KiB chunks (STREAM). Reading stays with pyrage; `age -d` and pyrage
both decrypt what this writes in the tests.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Sequence
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from exchange.errors import ValidationError

VERSION_LINE = b"age-encryption.org/v1"
X25519_LABEL = b"age-encryption.org/v1/X25519"
FILE_KEY_SIZE = 16
PAYLOAD_NONCE_SIZE = 16
CHUNK_SIZE = 64 * 1024
TAG_SIZE = 16
_COLUMNS = 64
_LAST_COUNTER = 2**88 - 1


def _hkdf(secret: bytes, salt: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(secret)


def _b64(data: bytes) -> bytes:
    return base64.b64encode(data).rstrip(b"=")


def _body_lines(body: bytes) -> bytes:
    """Return a stanza body as lines of 64 columns; the last line is always short."""
    text = _b64(body)
    lines = [text[start : start + _COLUMNS] for start in range(0, len(text), _COLUMNS)]
    if not lines or len(lines[-1]) == _COLUMNS:
        lines.append(b"")
    return b"".join(line + b"\n" for line in lines)


def x25519_stanza(recipient: bytes, file_key: bytes, ephemeral: X25519PrivateKey) -> bytes:
    """Return the `-> X25519` stanza wrapping file_key to the recipient's public key."""
    share = ephemeral.public_key().public_bytes_raw()
    try:
        shared = ephemeral.exchange(X25519PublicKey.from_public_bytes(recipient))
    except ValueError as exc:
        raise ValidationError("the recipient's X25519 key is not usable") from exc
    wrap_key = _hkdf(shared, share + recipient, X25519_LABEL)
    body = ChaCha20Poly1305(wrap_key).encrypt(bytes(12), file_key, None)
    return b"-> X25519 " + _b64(share) + b"\n" + _body_lines(body)


def header(recipient: bytes, file_key: bytes, ephemeral: X25519PrivateKey) -> bytes:
    """Return the whole age header, ending with its MAC line."""
    signed = VERSION_LINE + b"\n" + x25519_stanza(recipient, file_key, ephemeral) + b"---"
    mac = hmac.HMAC(_hkdf(file_key, b"", b"header"), hashes.SHA256())
    mac.update(signed)
    return signed + b" " + _b64(mac.finalize()) + b"\n"


@dataclass
class PayloadSealer:
    """Seal the payload chunk by chunk; the caller says which chunk is the last."""

    file_key: bytes = field(repr=False)  # never in a log line or a traceback's locals dump
    nonce: bytes
    _aead: ChaCha20Poly1305 = field(init=False, repr=False)
    _counter: int = field(default=0, init=False)
    _finished: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        self._aead = ChaCha20Poly1305(_hkdf(self.file_key, self.nonce, b"payload"))

    def seal(self, chunk: bytes | memoryview, *, last: bool) -> bytes:
        """Return one sealed chunk: a full 64 KiB one, or the last (short, or empty if alone)."""
        out = bytearray(len(chunk) + TAG_SIZE)
        self._seal_into(chunk, last, memoryview(out))
        return bytes(out)

    def _seal_into(self, chunk: bytes | memoryview, last: bool, out: memoryview) -> None:
        if self._finished:
            raise ValueError("the payload is already finished")
        if len(chunk) > CHUNK_SIZE or (not last and len(chunk) != CHUNK_SIZE):
            raise ValueError("only the last chunk may be shorter than 64 KiB")
        if last and not chunk and self._counter:
            raise ValueError("the last chunk is empty only when the whole payload is")
        if self._counter > _LAST_COUNTER:
            raise ValueError("the payload is too long for the age format")
        nonce = self._counter.to_bytes(11, "big") + (b"\x01" if last else b"\x00")
        self._counter += 1
        self._finished = last
        self._aead.encrypt_into(nonce, chunk, None, out)

    def seal_all(self, chunks: Sequence[bytes | memoryview], *, last: bool) -> bytearray:
        """Seal a run of chunks into one buffer; only the last chunk of a last run may be short."""
        if not chunks:
            raise ValueError("a run of chunks is not empty")
        sealed = bytearray(sum(len(chunk) for chunk in chunks) + TAG_SIZE * len(chunks))
        view, start, final = memoryview(sealed), 0, len(chunks) - 1
        for index, chunk in enumerate(chunks):
            end = start + len(chunk) + TAG_SIZE
            self._seal_into(chunk, last and index == final, view[start:end])
            start = end
        return sealed


@dataclass(frozen=True)
class AgeEncryption:
    """The header and payload sealer of one new age file to one recipient."""

    head: bytes
    sealer: PayloadSealer

    @classmethod
    def to_recipient(cls, recipient: bytes) -> AgeEncryption:
        """Start an age file to the recipient with a fresh file key, ephemeral key and nonce."""
        file_key = os.urandom(FILE_KEY_SIZE)
        nonce = os.urandom(PAYLOAD_NONCE_SIZE)
        head = header(recipient, file_key, X25519PrivateKey.generate())
        return cls(head + nonce, PayloadSealer(file_key, nonce))
