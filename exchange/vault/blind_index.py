"""Keyed blind indexes: look a value up by an HMAC of it instead of storing it."""

from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache


@lru_cache(maxsize=16)
def index_key(instance_key: bytes, purpose: str) -> bytes:
    """Derive the HMAC key of one blind index from the instance key."""
    from cryptography.hazmat.primitives import hashes  # Loaded on first use, not at start.
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    info = f"sgx blind index v1|{purpose}".encode()
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(instance_key)


def blind_index(instance_key: bytes, purpose: str, school_id: int, value: str) -> str:
    """Return the hex HMAC that finds value within one school without revealing it."""
    message = f"{school_id}|{value}".encode()
    return hmac.new(index_key(instance_key, purpose), message, hashlib.sha256).hexdigest()
