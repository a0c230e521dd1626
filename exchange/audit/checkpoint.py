"""Signed checkpoints: a log's size and root hash at a time, as a compact JWS (Ed25519).

The payload is RFC 8785 JSON {"v": 1, "log", "size", "root", "time"} with the root as 64
lowercase hex digits. The protected header is {"alg": "Ed25519", "kid", "typ"}: "Ed25519"
is the fully specified JOSE algorithm of RFC 9864 (the EdDSA of RFC 8037 restricted to
Ed25519). The key id is the SHA-256 of the raw 32-byte public key, in lowercase hex.
Verification steps are numbered as in docs/audit-log.md, "Verifying a checkpoint".
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from exchange import jws
from exchange.audit.entry import parse_time
from exchange.audit.errors import InvalidCheckpoint
from exchange.errors import ValidationError

CHECKPOINT_VERSION = 1
JWS_ALGORITHM = "Ed25519"
JWS_TYPE = "exchange-audit-checkpoint+jws"
PAYLOAD_KEYS = frozenset({"v", "log", "size", "root", "time"})
HEADER_KEYS = frozenset({"alg", "kid", "typ"})
ROOT_PATTERN = re.compile(r"[0-9a-f]{64}")
KEY_ID_PATTERN = re.compile(r"[0-9a-f]{64}")
LOG_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/-]{0,199}")

LOG_ID_PREFIX = "exchange-audit:school:"

PublicKeys = Mapping[str, Ed25519PublicKey] | Iterable[Ed25519PublicKey]


@dataclass(frozen=True)
class Checkpoint:
    """What a checkpoint states: the log, its size, its root hash and the time."""

    log: str
    size: int
    root: bytes
    time: str

    def payload(self) -> dict[str, Any]:
        """Return the version 1 payload as a dict."""
        return {
            "v": CHECKPOINT_VERSION,
            "log": self.log,
            "size": self.size,
            "root": self.root.hex(),
            "time": self.time,
        }

    def payload_bytes(self) -> bytes:
        """Return the canonical (RFC 8785) payload bytes that are signed."""
        return rfc8785.dumps(self.payload())


@dataclass(frozen=True)
class VerifiedCheckpoint:
    """A checkpoint whose signature verified, with the id of the key that signed it."""

    checkpoint: Checkpoint
    key_id: str


def log_id_for(school_id: int) -> str:
    """Return the log id that this instance's checkpoints of a school's log carry."""
    return f"{LOG_ID_PREFIX}{school_id}"


def key_id(public_key: Ed25519PublicKey) -> str:
    """Return the key id: SHA-256 of the raw public key, lowercase hex."""
    raw = public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def as_public_key(key: Any) -> Ed25519PublicKey:
    """Return an Ed25519PublicKey from one, or from an object with the raw key as `.raw`."""
    if isinstance(key, Ed25519PublicKey):
        return key
    raw = getattr(key, "raw", None)
    if isinstance(raw, bytes) and len(raw) == 32:
        return Ed25519PublicKey.from_public_bytes(raw)
    raise InvalidCheckpoint(f"{type(key).__name__} is not an Ed25519 public key")


def as_private_key(key: Any) -> Ed25519PrivateKey:
    """Return an Ed25519PrivateKey from one, or from an object with a private_raw() seed."""
    if isinstance(key, Ed25519PrivateKey):
        return key
    private_raw = getattr(key, "private_raw", None)
    if callable(private_raw):
        return Ed25519PrivateKey.from_private_bytes(private_raw())
    raise InvalidCheckpoint(f"{type(key).__name__} is not an Ed25519 private key")


def keys_by_id(public_keys: PublicKeys) -> dict[str, Ed25519PublicKey]:
    """Return public keys indexed by key id, checking any ids given against the keys."""
    if isinstance(public_keys, Mapping):
        indexed = {kid: as_public_key(key) for kid, key in public_keys.items()}
        for kid, key in indexed.items():
            if key_id(key) != kid:
                raise InvalidCheckpoint(f"key id {kid} does not match its public key")
        return indexed
    return {key_id(key): key for key in map(as_public_key, public_keys)}


def sign_checkpoint(checkpoint: Checkpoint, private_key: Ed25519PrivateKey) -> str:
    """Return the checkpoint as a compact JWS signed with the school's Ed25519 key."""
    private_key = as_private_key(private_key)
    _check_payload(checkpoint.payload())
    return jws.sign_bytes(checkpoint.payload_bytes(), private_key, JWS_TYPE)


def _parse(token: str) -> jws.CompactJws:
    try:
        return jws.parse(token)
    except jws.InvalidSignature as exc:
        raise InvalidCheckpoint(f"a checkpoint is a compact JWS: {exc}") from exc


def _payload(parsed: jws.CompactJws) -> dict[str, Any]:
    try:
        return jws.strict_json_object(parsed.payload, "JWS payload")
    except jws.InvalidSignature as exc:
        raise InvalidCheckpoint(str(exc)) from exc


def read_header(token: str) -> dict[str, Any]:
    """Return the protected header of a compact JWS checkpoint without verifying it."""
    return _parse(token).header


def verify_checkpoint(token: str, public_keys: PublicKeys) -> VerifiedCheckpoint:
    """Verify a compact JWS checkpoint and return what it states; raise InvalidCheckpoint."""
    # Step 1: three base64url parts; the header is exactly alg, kid and typ.
    parsed = _parse(token)
    header = parsed.header
    if set(header) != HEADER_KEYS:
        raise InvalidCheckpoint(f"the JWS header must hold exactly {sorted(HEADER_KEYS)}")
    if header["alg"] != JWS_ALGORITHM:
        raise InvalidCheckpoint(f"the JWS alg is {header['alg']!r}, expected {JWS_ALGORITHM!r}")
    if header["typ"] != JWS_TYPE:
        raise InvalidCheckpoint(f"the JWS typ is {header['typ']!r}, expected {JWS_TYPE!r}")
    # Step 2: the key id names one of the school's public keys (current or retired).
    kid = header["kid"]
    keys = keys_by_id(public_keys)
    if not isinstance(kid, str) or kid not in keys:
        raise InvalidCheckpoint(f"the checkpoint is signed by unknown key {kid!r}")
    # Step 3: the Ed25519 signature over the signing input verifies with that key.
    try:
        jws.check_signature(parsed, keys[kid])
    except jws.InvalidSignature as exc:
        raise InvalidCheckpoint(f"the checkpoint signature does not verify ({exc})") from exc
    # Step 4: the payload is canonical JSON with exactly the version 1 fields.
    payload = _payload(parsed)
    try:
        canonical = rfc8785.dumps(payload)
    except rfc8785.CanonicalizationError as exc:
        raise InvalidCheckpoint("the checkpoint payload cannot be canonicalised") from exc
    if canonical != parsed.payload:
        raise InvalidCheckpoint("the checkpoint payload is not RFC 8785 canonical JSON")
    return VerifiedCheckpoint(_check_payload(payload), kid)


def read_checkpoint_unverified(token: str) -> Checkpoint:
    """Return what a checkpoint states WITHOUT checking its signature (for reports only)."""
    return _check_payload(_payload(_parse(token)))


def _check_payload(payload: dict[str, Any]) -> Checkpoint:
    if set(payload) != PAYLOAD_KEYS:
        raise InvalidCheckpoint(f"the checkpoint payload must hold exactly {sorted(PAYLOAD_KEYS)}")
    if payload["v"] != CHECKPOINT_VERSION or isinstance(payload["v"], bool):
        raise InvalidCheckpoint(f"unsupported checkpoint version {payload['v']!r}")
    log, size, root, time = payload["log"], payload["size"], payload["root"], payload["time"]
    if not isinstance(log, str) or not LOG_ID_PATTERN.fullmatch(log):
        raise InvalidCheckpoint(f"the log id {log!r} is malformed")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise InvalidCheckpoint(f"the size {size!r} is not a non-negative integer")
    if not isinstance(root, str) or not ROOT_PATTERN.fullmatch(root):
        raise InvalidCheckpoint("the root is not 64 lowercase hex digits")
    try:
        parse_time(time)
    except ValidationError as exc:
        raise InvalidCheckpoint(f"the time is malformed: {exc}") from exc
    return Checkpoint(log=log, size=size, root=bytes.fromhex(root), time=time)
