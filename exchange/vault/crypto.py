"""AES-256-GCM key wrapping and chunked, streaming blob encryption.

Blob format, version 1 (all integers big-endian):

    magic   b"SGXBLOB1"                      8 bytes
    salt    random                          16 bytes  (HKDF salt for this blob's subkey)
    chunks  AES-256-GCM(subkey, nonce, chunk, aad)   each CHUNK_SIZE plaintext bytes,
            nonce = counter (11 bytes) || last flag (1 byte: 0x01 on the final chunk)

The subkey is HKDF-SHA256(pupil data key, salt, info=b"sgx blob v1" || context), so no two
blobs share a key and nonces never repeat.  The last-chunk flag detects truncation, and the
counter detects reordering.  Destroying the pupil data key makes every blob unreadable.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import BinaryIO

from exchange.errors import CryptoError

# cryptography loads on first use, not when the models and the instance are set up, so that
# a command that opens no blob and no key (`exchange transfers list`) starts without it.

KEY_BYTES = 32
WRAP_MAGIC = b"SGXWRAP1"
BLOB_MAGIC = b"SGXBLOB1"
SALT_BYTES = 16
CHUNK_SIZE = 64 * 1024
TAG_BYTES = 16
_NONCE_BYTES = 12


def new_key() -> bytes:
    """Return a fresh random 256-bit key."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    return AESGCM.generate_key(bit_length=256)


def wrap_key(instance_key: bytes, key: bytes, context: bytes) -> bytes:
    """Encrypt a data key under the instance key, bound to its context."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    _check_key(instance_key)
    nonce = os.urandom(_NONCE_BYTES)
    return WRAP_MAGIC + nonce + AESGCM(instance_key).encrypt(nonce, key, context)


def unwrap_key(instance_key: bytes, wrapped: bytes, context: bytes) -> bytes:
    """Decrypt a wrapped data key; raise CryptoError if it was not wrapped for this context."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    _check_key(instance_key)
    if not wrapped.startswith(WRAP_MAGIC):
        raise CryptoError("wrapped key has an unknown format")
    body = wrapped[len(WRAP_MAGIC) :]
    nonce, sealed = body[:_NONCE_BYTES], body[_NONCE_BYTES:]
    try:
        return AESGCM(instance_key).decrypt(nonce, sealed, context)
    except InvalidTag as exc:
        raise CryptoError("wrapped key does not open with this instance key") from exc


def encrypt_stream(key: bytes, context: bytes, source: BinaryIO) -> Iterator[bytes]:
    """Yield the encrypted blob for the plaintext read from source, chunk by chunk."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    _check_key(key)
    salt = os.urandom(SALT_BYTES)
    aead = AESGCM(_subkey(key, salt, context))
    yield BLOB_MAGIC + salt
    counter = 0
    chunk = source.read(CHUNK_SIZE)
    while True:
        following = source.read(CHUNK_SIZE)
        last = not following
        yield aead.encrypt(_nonce(counter, last), chunk, context)
        if last:
            return
        counter += 1
        chunk = following


def decrypt_stream(key: bytes, context: bytes, source: BinaryIO) -> Iterator[bytes]:
    """Yield plaintext chunks of an encrypted blob; raise CryptoError on any tampering."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    _check_key(key)
    header = source.read(len(BLOB_MAGIC) + SALT_BYTES)
    if len(header) != len(BLOB_MAGIC) + SALT_BYTES or not header.startswith(BLOB_MAGIC):
        raise CryptoError("blob has an unknown format or is truncated")
    aead = AESGCM(_subkey(key, header[len(BLOB_MAGIC) :], context))
    sealed_size = CHUNK_SIZE + TAG_BYTES
    counter = 0
    sealed = source.read(sealed_size)
    while True:
        following = source.read(sealed_size)
        last = not following
        try:
            yield aead.decrypt(_nonce(counter, last), sealed, context)
        except InvalidTag as exc:
            raise CryptoError("blob does not decrypt: wrong key, tampered or truncated") from exc
        if last:
            return
        counter += 1
        sealed = following


def _subkey(key: bytes, salt: bytes, context: bytes) -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    hkdf = HKDF(
        algorithm=hashes.SHA256(), length=KEY_BYTES, salt=salt, info=b"sgx blob v1" + context
    )
    return hkdf.derive(key)


def _nonce(counter: int, last: bool) -> bytes:
    return counter.to_bytes(_NONCE_BYTES - 1, "big") + (b"\x01" if last else b"\x00")


def _check_key(key: bytes) -> None:
    if len(key) != KEY_BYTES:
        raise CryptoError("keys must be 32 bytes")
