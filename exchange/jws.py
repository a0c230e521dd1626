"""Compact JWS with Ed25519 (RFC 7515, RFC 9864) over RFC 8785 JSON, for messages and receipts.

Every signed object of the school-to-school protocol goes through here: the protected header
is exactly {"alg": "Ed25519", "kid": <SHA-256 hex of the raw public key>, "typ": <type>}, the
payload is canonical JSON, and verification names the key by kid from keys the caller trusts.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import OKPKey

from exchange.errors import ExchangeError
from exchange.packaging.keys import SigningKey, SigningPublicKey

ALGORITHM = "Ed25519"
HEADER_KEYS = frozenset({"alg", "kid", "typ"})
MAX_TOKEN_BYTES = 64 * 1024


class InvalidSignature(ExchangeError):
    """A signed object is malformed, of the wrong type, or not signed by a trusted key."""

    code = "invalid_signature"
    status_code = 401


def sign(payload: Mapping[str, Any], key: SigningKey, typ: str) -> str:
    """Return the compact JWS of the canonical JSON payload, naming the key by its id."""
    header = {"alg": ALGORITHM, "kid": key.key_id, "typ": typ}
    private = Ed25519PrivateKey.from_private_bytes(key.private_raw())
    return jws.serialize_compact(
        header, rfc8785.dumps(dict(payload)), OKPKey.import_key(private), algorithms=[ALGORITHM]
    )


def unverified_header(token: str) -> dict[str, Any]:
    """Return the protected header of a compact JWS without trusting it."""
    if not isinstance(token, str) or len(token) > MAX_TOKEN_BYTES or token.count(".") != 2:
        raise InvalidSignature("not a compact JWS")
    header = _decode_json(token.split(".")[0], "protected header")
    if set(header) != HEADER_KEYS or header.get("alg") != ALGORITHM:
        raise InvalidSignature("the JWS header must be exactly alg Ed25519, kid and typ")
    if not isinstance(header["kid"], str) or not isinstance(header["typ"], str):
        raise InvalidSignature("the JWS kid and typ must be strings")
    return header


def unverified_payload(token: str) -> dict[str, Any]:
    """Return the payload of a compact JWS without trusting it (to find its sender)."""
    unverified_header(token)
    return _decode_json(token.split(".")[1], "payload")


def verify(token: str, keys: Mapping[str, SigningPublicKey], typ: str) -> dict[str, Any]:
    """Check the JWS is of this type and signed by one of the keys (by kid); return the payload."""
    header = unverified_header(token)
    if header["typ"] != typ:
        raise InvalidSignature(f"expected a {typ!r} JWS, got {header['typ']!r}")
    public = keys.get(header["kid"])
    if public is None:
        raise InvalidSignature("the JWS is signed by a key that is not trusted here")
    try:
        message = jws.deserialize_compact(
            token,
            OKPKey.import_key(Ed25519PublicKey.from_public_bytes(public.raw)),
            algorithms=[ALGORITHM],
        )
    except (JoseError, ValueError) as exc:
        raise InvalidSignature("the JWS signature does not verify") from exc
    return _decode_bytes_json(message.payload, "payload")


def _decode_json(segment: str, what: str) -> dict[str, Any]:
    try:
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError) as exc:
        raise InvalidSignature(f"the JWS {what} is not base64url") from exc
    return _decode_bytes_json(raw, what)


def _decode_bytes_json(raw: bytes, what: str) -> dict[str, Any]:
    try:
        value = json.loads(raw, object_pairs_hook=_refuse_duplicates)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidSignature(f"the JWS {what} is not JSON") from exc
    if not isinstance(value, dict):
        raise InvalidSignature(f"the JWS {what} is not a JSON object")
    return value


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    if len(keys) != len(set(keys)):
        raise ValueError("duplicate keys")
    return dict(pairs)
