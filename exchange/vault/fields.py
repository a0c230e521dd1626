"""AES-256-GCM sealing of single database fields with a pupil's data key.

Sealed field format, version 1: b"SGXF1" || nonce (12 random bytes) || ciphertext || tag.
The key is HKDF-SHA256(pupil data key, info=b"sgx field v1"), so field and blob keys
differ; the associated data names the table, column, school, pupil and row id, so a
sealed value cannot be moved to another row, column or pupil without failing to open.
"""

from __future__ import annotations

import json
import os
from datetime import date
from typing import Any

from exchange.errors import CryptoError

# cryptography loads when a field is first sealed or opened, not when the models are defined:
# a command that reads no sealed value (`exchange transfers list`) then starts without it.

FIELD_MAGIC = b"SGXF1"
_NONCE_BYTES = 12
KINDS = ("text", "json", "date")


def field_key(data_key: bytes) -> bytes:
    """Derive the key that seals a pupil's database fields from their data key."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"sgx field v1")
    return hkdf.derive(data_key)


def offer_field_key(instance_key: bytes, school_id: int) -> bytes:
    """Derive the key that seals an incoming offer's fields before its child has a record here."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    info = f"sgx offer field v1|school:{school_id}".encode()
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(instance_key)


def field_context(table: str, column: str, school_id: int, pupil_id: int, row_id: int) -> bytes:
    """Return the associated data that binds a sealed value to its place."""
    return (
        f"sgx field v1|{table}.{column}|school:{school_id}|pupil:{pupil_id}|row:{row_id}".encode()
    )


def encode_value(kind: str, value: Any) -> bytes:
    """Return the plaintext bytes of a text, JSON or date value."""
    if kind == "text":
        return str(value).encode()
    if kind == "date":
        if not isinstance(value, date):
            raise TypeError("a sealed date column needs a date")
        return value.isoformat().encode()
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def decode_value(kind: str, plain: bytes) -> Any:
    """Return the value whose plaintext bytes are plain."""
    if kind == "text":
        return plain.decode()
    if kind == "date":
        return date.fromisoformat(plain.decode())
    return json.loads(plain)


def seal(key: bytes, context: bytes, plain: bytes) -> bytes:
    """Encrypt plain under a field key, bound to context."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    nonce = os.urandom(_NONCE_BYTES)
    return FIELD_MAGIC + nonce + AESGCM(key).encrypt(nonce, plain, context)


def unseal(key: bytes, context: bytes, sealed: bytes) -> bytes:
    """Decrypt a sealed field; raise CryptoError if it is not this place's value."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    if not bytes(sealed).startswith(FIELD_MAGIC):
        raise CryptoError("a sealed field has an unknown format")
    body = bytes(sealed)[len(FIELD_MAGIC) :]
    try:
        return AESGCM(key).decrypt(body[:_NONCE_BYTES], body[_NONCE_BYTES:], context)
    except InvalidTag as exc:
        raise CryptoError("a sealed field does not open with this pupil's key") from exc
