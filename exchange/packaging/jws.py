"""The manifest's compact JWS (bundle format section 4), worded as bundle verification steps.

The token is taken apart here in the order the spec gives (step 5), so each refusal names
what is wrong: characters, base64url form, header JSON, algorithm, header members, type,
key id, then the signature itself (checked by joserfc through exchange.jws).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from exchange import jws
from exchange.packaging.errors import InvalidBundle
from exchange.packaging.keys import SigningKey, SigningPublicKey
from exchange.safe_json import MAX_JSON_BYTES, JSONTooLarge, loads_bounded

# Registered header members that would move the key, or what is signed, out of our control.
REFUSED_MEMBERS = ("crit", "b64", "zip", "jwk", "jku", "x5u", "x5c", "x5t", "x5t#S256")
_TOKEN_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")
SIGNATURE_BYTES = 64


def sign_compact(payload: bytes, key: SigningKey, typ: str) -> str:
    """Return the compact JWS of exactly these payload bytes, signed with key."""
    return jws.sign_bytes(payload, key, typ)


def verify_compact(
    token: str, keys: Sequence[SigningPublicKey], typ: str, step: str
) -> tuple[dict[str, Any], bytes]:
    """Check a compact JWS against the sender's known keys; return its header and payload."""
    if not set(token) <= _TOKEN_CHARS:
        raise InvalidBundle(
            f"{step}: manifest.jws holds characters other than base64url and '.' "
            "(no whitespace, newline or padding)"
        )
    parts = token.split(".")
    if len(parts) != 3:
        raise InvalidBundle(
            f"{step}: manifest.jws is not a compact JWS (three dot-separated parts)"
        )
    header = _header(_canonical_b64(parts[0], "header", step), step)
    alg = header.get("alg")
    if alg not in (jws.ALGORITHM, jws.LEGACY_ALGORITHM):
        raise InvalidBundle(f"{step}: JWS algorithm {alg!r} is not Ed25519")
    if "crit" in header:
        raise InvalidBundle(f"{step}: JWS header has critical extensions we do not understand")
    refused = [member for member in REFUSED_MEMBERS if member in header]
    if refused:
        raise InvalidBundle(
            f"{step}: JWS header member {refused[0]!r} is refused (keys come only from the "
            "partner directory and the payload is plain base64url)"
        )
    if header.get("typ") != typ:
        raise InvalidBundle(f"{step}: JWS type {header.get('typ')!r} is not {typ!r}")
    kid = header.get("kid")
    by_id = {key.key_id: key for key in keys}
    if not isinstance(kid, str) or kid not in by_id:
        raise InvalidBundle(
            f"{step}: the manifest is signed with key {kid!r}, which is not a known signing "
            "key of the sending school"
        )
    payload = _canonical_b64(parts[1], "payload", step) if parts[1] else b""
    signature = _canonical_b64(parts[2], "signature", step)
    if len(signature) != SIGNATURE_BYTES:
        raise InvalidBundle(f"{step}: the JWS signature is {len(signature)} bytes, not 64")
    try:
        jws.check_signature(jws.CompactJws(token, header, payload), by_id[kid], legacy_alg=True)
    except jws.InvalidSignature as exc:
        raise InvalidBundle(
            f"{step}: the manifest signature does not verify with the sender's key {kid[:16]}…"
        ) from exc
    return header, payload


def _canonical_b64(text: str, what: str, step: str) -> bytes:
    """Decode unpadded base64url, refusing any text that is not the one encoding of its bytes."""
    try:
        data = jws.b64url_decode(text, f"JWS {what}")
    except jws.InvalidSignature as exc:
        raise InvalidBundle(f"{step}: the JWS {what} is not base64url") from exc
    if jws.b64url(data) != text:
        raise InvalidBundle(
            f"{step}: the JWS {what} is not canonical base64url (unused bits are not zero)"
        )
    return data


def _header(raw: bytes, step: str) -> dict[str, Any]:
    try:
        header = loads_bounded(
            raw.decode("utf-8"),
            max_bytes=jws.MAX_TOKEN_BYTES,
            object_pairs_hook=jws.refuse_duplicate_keys,
        )
    except JSONTooLarge as exc:
        raise InvalidBundle(f"{step}: the JWS header is refused: {exc.message}") from exc
    except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors.
        malformed = isinstance(exc, json.JSONDecodeError | UnicodeDecodeError)
        reason = "it is not UTF-8 JSON" if malformed else str(exc)  # a duplicate key
        raise InvalidBundle(f"{step}: the JWS header is refused: {reason}") from exc
    if not isinstance(header, dict):
        raise InvalidBundle(f"{step}: the JWS header is not a JSON object")
    return header


def strict_json(raw: bytes, what: str, *, max_bytes: int = MAX_JSON_BYTES) -> Any:
    """Parse JSON, refusing duplicate keys, non-UTF-8 and deep nesting; raise InvalidBundle."""
    try:
        text = raw.decode("utf-8")
        return loads_bounded(text, max_bytes=max_bytes, object_pairs_hook=jws.refuse_duplicate_keys)
    except JSONTooLarge as exc:
        raise InvalidBundle(f"{what} is refused: {exc.message}") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidBundle(f"{what} is not valid JSON: {exc}") from exc
