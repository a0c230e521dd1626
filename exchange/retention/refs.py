"""Pseudonymous pupil references: HMAC-SHA256 of the UPN under a per-school secret.

The secret is derived from the instance key with HKDF-SHA256 (info names the school), so a
reference cannot be reversed or even checked without the instance key; the school, holding
it, can answer "was this UPN's file destroyed?" by recomputing the reference.
"""

from __future__ import annotations

import hashlib
import hmac

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

REF_PREFIX = "pref1_"
_INFO = b"sgx retention pupil reference v1|school:"


def school_secret(instance_key: bytes, school_id: int) -> bytes:
    """Derive the school's 32-byte reference secret from the instance key."""
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO + str(school_id).encode()
    ).derive(instance_key)


def pupil_ref(secret: bytes, upn: str) -> str:
    """Return the pseudonymous reference of a pupil: pref1_ + hex HMAC-SHA256 of the UPN."""
    digest = hmac.new(secret, upn.strip().upper().encode("ascii"), hashlib.sha256).hexdigest()
    return REF_PREFIX + digest
