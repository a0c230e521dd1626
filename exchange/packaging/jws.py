"""The manifest's compact JWS (bundle format section 4), worded as bundle verification steps."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from exchange import jws
from exchange.packaging.errors import InvalidBundle
from exchange.packaging.keys import SigningKey, SigningPublicKey
from exchange.safe_json import MAX_JSON_BYTES, JSONTooLarge, loads_bounded


def sign_compact(payload: bytes, key: SigningKey, typ: str) -> str:
    """Return the compact JWS of exactly these payload bytes, signed with key."""
    return jws.sign_bytes(payload, key, typ)


def verify_compact(
    token: str, keys: Sequence[SigningPublicKey], typ: str, step: str
) -> tuple[dict[str, Any], bytes]:
    """Check a compact JWS against the sender's known keys; return its header and payload."""
    try:
        parsed = jws.parse(token, max_bytes=None)  # the reader caps manifest.jws (step 4)
    except jws.InvalidSignature as exc:
        raise InvalidBundle(f"{step}: manifest.jws is not a valid compact JWS: {exc}") from exc
    header = parsed.header
    if header.get("alg") not in (jws.ALGORITHM, jws.LEGACY_ALGORITHM):
        raise InvalidBundle(f"{step}: JWS algorithm {header.get('alg')!r} is not Ed25519")
    if header.get("typ") != typ:
        raise InvalidBundle(f"{step}: JWS type {header.get('typ')!r} is not {typ!r}")
    if "crit" in header:
        raise InvalidBundle(f"{step}: JWS header has critical extensions we do not understand")
    kid = parsed.kid
    by_id = {key.key_id: key for key in keys}
    if not isinstance(kid, str) or kid not in by_id:
        raise InvalidBundle(
            f"{step}: the manifest is signed with key {kid!r}, which is not a known signing "
            "key of the sending school"
        )
    try:
        jws.check_signature(parsed, by_id[kid], legacy_alg=True)
    except jws.InvalidSignature as exc:
        raise InvalidBundle(
            f"{step}: the manifest signature does not verify with the sender's key {kid[:16]}…"
        ) from exc
    return header, parsed.payload


def strict_json(raw: bytes, what: str, *, max_bytes: int = MAX_JSON_BYTES) -> Any:
    """Parse JSON, refusing duplicate keys, non-UTF-8 and deep nesting; raise InvalidBundle."""
    try:
        text = raw.decode("utf-8")
        return loads_bounded(text, max_bytes=max_bytes, object_pairs_hook=jws.refuse_duplicate_keys)
    except JSONTooLarge as exc:
        raise InvalidBundle(f"{what} is refused: {exc.message}") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidBundle(f"{what} is not valid JSON: {exc}") from exc
