"""Compact JWS (RFC 7515) with Ed25519 signatures (RFC 8037, RFC 9864)."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from typing import Any

import rfc8785

from exchange.packaging.errors import InvalidBundle
from exchange.packaging.keys import SigningKey, SigningPublicKey

ALGORITHM = "Ed25519"
ACCEPTED_ALGORITHMS = ("Ed25519", "EdDSA")  # RFC 9864 name, and the older RFC 8037 name.


def b64url(data: bytes) -> str:
    """Encode without padding, as JWS does."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str, what: str) -> bytes:
    """Decode unpadded base64url strictly; raise InvalidBundle naming what failed."""
    if not text or any(c not in _B64URL for c in text) or len(text) % 4 == 1:
        raise InvalidBundle(f"the {what} is not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise InvalidBundle(f"the {what} is not base64url") from exc


_B64URL = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def sign_compact(payload: bytes, key: SigningKey, typ: str) -> str:
    """Return the compact JWS of payload, signed with key and naming its key id."""
    header = rfc8785.dumps({"alg": ALGORITHM, "kid": key.key_id, "typ": typ})
    signing_input = f"{b64url(header)}.{b64url(payload)}".encode("ascii")
    return f"{signing_input.decode('ascii')}.{b64url(key.sign(signing_input))}"


def verify_compact(
    token: str, keys: Sequence[SigningPublicKey], typ: str, step: str
) -> tuple[dict[str, Any], bytes]:
    """Check a compact JWS against known keys; return its header and payload."""
    parts = token.strip().split(".")
    if len(parts) != 3:
        raise InvalidBundle(
            f"{step}: manifest.jws is not a compact JWS (three dot-separated parts)"
        )
    header = _header(b64url_decode(parts[0], "JWS protected header"), step)
    payload = b64url_decode(parts[1], "JWS payload")
    signature = b64url_decode(parts[2], "JWS signature")
    if header.get("alg") not in ACCEPTED_ALGORITHMS:
        raise InvalidBundle(f"{step}: JWS algorithm {header.get('alg')!r} is not Ed25519")
    if header.get("typ") != typ:
        raise InvalidBundle(f"{step}: JWS type {header.get('typ')!r} is not {typ!r}")
    if "crit" in header:
        raise InvalidBundle(f"{step}: JWS header has critical extensions we do not understand")
    kid = header.get("kid")
    by_id: Mapping[str, SigningPublicKey] = {key.key_id: key for key in keys}
    if not isinstance(kid, str) or kid not in by_id:
        raise InvalidBundle(
            f"{step}: the manifest is signed with key {kid!r}, which is not a known signing "
            "key of the sending school"
        )
    signing_input = f"{parts[0]}.{parts[1]}".encode("ascii")
    if len(signature) != 64 or not by_id[kid].verify(signature, signing_input):
        raise InvalidBundle(
            f"{step}: the manifest signature does not verify with the sender's key {kid[:16]}…"
        )
    return header, payload


def _header(raw: bytes, step: str) -> dict[str, Any]:
    try:
        header = json.loads(raw, object_pairs_hook=_no_duplicates)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidBundle(f"{step}: the JWS protected header is not JSON") from exc
    if not isinstance(header, dict):
        raise InvalidBundle(f"{step}: the JWS protected header is not a JSON object")
    return header


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def strict_json(raw: bytes, what: str) -> Any:
    """Parse JSON, refusing duplicate keys and non-UTF-8; raise InvalidBundle naming what."""
    try:
        return json.loads(raw.decode("utf-8"), object_pairs_hook=_no_duplicates)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidBundle(f"{what} is not valid JSON: {exc}") from exc
