"""Pseudonymous references to pupils that only the school's instance can link back."""

from __future__ import annotations

import hmac
from hashlib import sha256

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


def school_secret(instance_key: bytes, school_id: int, purpose: str) -> bytes:
    """Derive a per-school secret for one purpose from the instance key."""
    info = f"sgx school secret v1|{school_id}|{purpose}".encode()
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(instance_key)


def pupil_reference(instance_key: bytes, school_id: int, upn: str) -> str:
    """Return a stable 128-bit pseudonymous reference for a pupil (HMAC-SHA256 of the UPN)."""
    secret = school_secret(instance_key, school_id, "pupil reference")
    return hmac.new(secret, upn.upper().encode("ascii"), sha256).hexdigest()[:32]
