"""Compact JWS with Ed25519 (RFC 7515, RFC 9864): the one place tokens are signed and checked.

Messages and receipts (canonical JSON payloads), the bundle manifest (its exact bytes), the
retention certificate and audit checkpoints all sign and verify here. The protected header
we write is exactly {"alg": "Ed25519", "kid": <SHA-256 hex of the raw public key>, "typ":
<type>}; signing and the signature check are joserfc's, parsing is strict (unpadded
base64url, JSON without duplicate keys), and each caller words its own errors from `reason`.
"""

from __future__ import annotations

import base64
import binascii
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from joserfc import jws
from joserfc.errors import JoseError, SecurityWarning
from joserfc.jwk import OKPKey
from joserfc.jws import JWSRegistry

from exchange.errors import ExchangeError
from exchange.packaging.keys import SigningKey, SigningPublicKey, key_id
from exchange.safe_json import JSONTooLarge, loads_bounded

ALGORITHM = "Ed25519"
LEGACY_ALGORITHM = "EdDSA"  # RFC 8037's name for the same signature; read, never written.
HEADER_KEYS = frozenset({"alg", "kid", "typ"})
MAX_TOKEN_BYTES = 64 * 1024
MAX_SIGNED_PAYLOAD = 32 * 1024 * 1024  # room for a 16 MiB manifest once base64url-encoded
_B64URL = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")

PrivateKey = SigningKey | Ed25519PrivateKey
PublicKey = SigningPublicKey | Ed25519PublicKey


class InvalidSignature(ExchangeError):
    """A signed object is malformed, of the wrong type, or not signed by a trusted key."""

    code = "invalid_signature"
    status_code = 401

    def __init__(self, message: str, *, reason: str = "malformed") -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class CompactJws:
    """A compact JWS split and decoded, nothing about it trusted yet."""

    token: str
    header: dict[str, Any]
    payload: bytes

    @property
    def kid(self) -> Any:
        """Return the key id the header claims."""
        return self.header.get("kid")


class _Registry(JWSRegistry):
    """joserfc's registry with room for a bundle manifest (its defaults: 128 kB and 512 B).

    Version 1 manifest readers accepted header fields beyond alg, kid and typ, so a long
    header must not fail here as a bad signature; our own callers cap what they read.
    """

    max_payload_length = MAX_SIGNED_PAYLOAD
    max_header_length = MAX_TOKEN_BYTES


@cache
def _registry(*algorithms: str) -> JWSRegistry:
    # We check the header's fields ourselves (exactly alg, kid, typ for messages; no crit).
    return _Registry(algorithms=list(algorithms), strict_check_header=False)


def b64url(data: bytes) -> str:
    """Encode without padding, as JWS does."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str, what: str) -> bytes:
    """Decode unpadded base64url strictly; raise InvalidSignature naming what failed."""
    if not text or any(c not in _B64URL for c in text) or len(text) % 4 == 1:
        raise InvalidSignature(f"the {what} is not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise InvalidSignature(f"the {what} is not base64url") from exc


def strict_json_object(
    raw: bytes, what: str, *, max_bytes: int = MAX_SIGNED_PAYLOAD
) -> dict[str, Any]:
    """Parse a UTF-8 JSON object, refusing duplicate keys; raise InvalidSignature naming what."""
    try:
        text = raw.decode("utf-8")
        value = loads_bounded(text, max_bytes=max_bytes, object_pairs_hook=refuse_duplicate_keys)
    except JSONTooLarge as exc:
        raise InvalidSignature(f"the {what} is refused: {exc.message}") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidSignature(f"the {what} is not JSON") from exc
    if not isinstance(value, dict):
        raise InvalidSignature(f"the {what} is not a JSON object")
    return value


def refuse_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """Build a JSON object, refusing a key given twice (a json.loads object_pairs_hook)."""
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _private(key: PrivateKey) -> Ed25519PrivateKey:
    if isinstance(key, Ed25519PrivateKey):
        return key
    return Ed25519PrivateKey.from_private_bytes(key.private_raw())


def _public(key: PublicKey) -> Ed25519PublicKey:
    if isinstance(key, Ed25519PublicKey):
        return key
    return Ed25519PublicKey.from_public_bytes(key.raw)


def sign_bytes(payload: bytes, key: PrivateKey, typ: str) -> str:
    """Return the compact JWS of exactly these payload bytes, naming the key by its id."""
    private = _private(key)
    kid = key_id(private.public_key().public_bytes_raw())
    header = {"alg": ALGORITHM, "kid": kid, "typ": typ}
    return jws.serialize_compact(
        header, payload, OKPKey.import_key(private), registry=_registry(ALGORITHM)
    )


def sign(payload: Mapping[str, Any], key: PrivateKey, typ: str) -> str:
    """Return the compact JWS of the canonical JSON (RFC 8785) of payload."""
    return sign_bytes(rfc8785.dumps(dict(payload)), key, typ)


def parse(token: str, *, max_bytes: int | None = MAX_TOKEN_BYTES) -> CompactJws:
    """Split a compact JWS and decode its header and payload, without trusting them.

    max_bytes caps a message from the network; None is for tokens whose size the caller
    has already capped (a bundle's manifest.jws is capped by the archive reader).
    """
    if not isinstance(token, str) or token.count(".") != 2:
        raise InvalidSignature("not a compact JWS (three dot-separated parts)")
    if max_bytes is not None and len(token) > max_bytes:
        raise InvalidSignature(f"the JWS is longer than {max_bytes} bytes")
    token = token.strip()
    header_part, payload_part, signature_part = token.split(".")
    header = strict_json_object(
        b64url_decode(header_part, "JWS header"), "JWS header", max_bytes=MAX_TOKEN_BYTES
    )
    payload = b64url_decode(payload_part, "JWS payload") if payload_part else b""
    b64url_decode(signature_part, "JWS signature")
    return CompactJws(token, header, payload)


def check_signature(parsed: CompactJws, key: PublicKey, *, legacy_alg: bool = False) -> None:
    """Check the Ed25519 signature with key; raise InvalidSignature(reason='signature')."""
    allowed = [ALGORITHM, LEGACY_ALGORITHM] if legacy_alg else [ALGORITHM]
    if parsed.header.get("alg") not in allowed:
        raise InvalidSignature(
            f"JWS algorithm {parsed.header.get('alg')!r} is not Ed25519", reason="algorithm"
        )
    try:
        with warnings.catch_warnings():
            # joserfc warns that the EdDSA name is deprecated; we only ever read it.
            warnings.simplefilter("ignore", SecurityWarning)
            jws.deserialize_compact(
                parsed.token, OKPKey.import_key(_public(key)), registry=_registry(*allowed)
            )
    except (JoseError, ValueError) as exc:
        raise InvalidSignature("the JWS signature does not verify", reason="signature") from exc


def _exact_header(parsed: CompactJws) -> dict[str, Any]:
    header = parsed.header
    if set(header) != HEADER_KEYS or header.get("alg") != ALGORITHM:
        raise InvalidSignature("the JWS header must be exactly alg Ed25519, kid and typ")
    if not isinstance(header["kid"], str) or not isinstance(header["typ"], str):
        raise InvalidSignature("the JWS kid and typ must be strings")
    return header


def unverified_header(token: str) -> dict[str, Any]:
    """Return the protected header of a compact JWS without trusting it."""
    return _exact_header(parse(token))


def unverified_payload(token: str) -> dict[str, Any]:
    """Return the payload of a compact JWS without trusting it (to find its sender)."""
    parsed = parse(token)
    _exact_header(parsed)
    return strict_json_object(parsed.payload, "JWS payload")


def verify(token: str, keys: Mapping[str, SigningPublicKey], typ: str) -> dict[str, Any]:
    """Check the JWS is of this type and signed by one of the keys (by kid); return the payload."""
    parsed = parse(token)
    header = _exact_header(parsed)
    if header["typ"] != typ:
        raise InvalidSignature(f"expected a {typ!r} JWS, got {header['typ']!r}", reason="type")
    public = keys.get(header["kid"])
    if public is None:
        raise InvalidSignature(
            "the JWS is signed by a key that is not trusted here", reason="unknown_key"
        )
    check_signature(parsed, public)
    return strict_json_object(parsed.payload, "JWS payload")
