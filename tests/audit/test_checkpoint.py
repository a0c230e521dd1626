"""Signed checkpoints: compact JWS with Ed25519, and every way verification must fail."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from exchange.audit.checkpoint import (
    JWS_TYPE,
    Checkpoint,
    key_id,
    read_checkpoint_unverified,
    sign_checkpoint,
    verify_checkpoint,
)
from exchange.audit.errors import InvalidCheckpoint
from exchange.errors import CryptoError

STATEMENT = Checkpoint(
    log="exchange-audit:school:1", size=5, root=bytes(range(32)), time="2025-09-01T08:30:00.000000Z"
)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_sign_and_verify(signing_key: Ed25519PrivateKey) -> None:
    token = sign_checkpoint(STATEMENT, signing_key)
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    assert header == {"alg": "Ed25519", "kid": key_id(signing_key.public_key()), "typ": JWS_TYPE}
    verified = verify_checkpoint(token, [signing_key.public_key()])
    assert verified.checkpoint == STATEMENT
    assert verified.key_id == key_id(signing_key.public_key())
    by_id = {key_id(signing_key.public_key()): signing_key.public_key()}
    assert verify_checkpoint(token, by_id).checkpoint == STATEMENT
    assert read_checkpoint_unverified(token) == STATEMENT


def test_key_id_is_sha256_of_raw_public_key() -> None:
    raw = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
    key = Ed25519PublicKey.from_public_bytes(raw)
    assert key_id(key) == hashlib.sha256(raw).hexdigest()


def test_wrong_key_unknown_key_and_mislabelled_key(signing_key: Ed25519PrivateKey) -> None:
    token = sign_checkpoint(STATEMENT, signing_key)
    other = Ed25519PrivateKey.generate().public_key()
    with pytest.raises(InvalidCheckpoint, match="unknown key"):
        verify_checkpoint(token, [other])
    with pytest.raises(InvalidCheckpoint, match="does not match"):
        verify_checkpoint(token, {key_id(signing_key.public_key()): other})


def resign(header: dict, payload: bytes, key: Ed25519PrivateKey) -> str:
    """Sign any header and payload by hand, as a forger with the key could."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(payload)}"
    return f"{signing_input}.{b64(key.sign(signing_input.encode()))}"


def test_hand_signed_token_is_accepted(signing_key: Ed25519PrivateKey) -> None:
    header = {"alg": "Ed25519", "kid": key_id(signing_key.public_key()), "typ": JWS_TYPE}
    token = resign(header, STATEMENT.payload_bytes(), signing_key)
    assert verify_checkpoint(token, [signing_key.public_key()]).checkpoint == STATEMENT


def test_every_tampering_fails(signing_key: Ed25519PrivateKey) -> None:
    token = sign_checkpoint(STATEMENT, signing_key)
    header_b64, payload_b64, signature_b64 = token.split(".")
    kid = key_id(signing_key.public_key())
    flipped = ("B" if signature_b64[0] == "A" else "A") + signature_b64[1:]
    other_payload = STATEMENT.payload() | {"size": 6}
    forged_payload = b64(json.dumps(other_payload, sort_keys=True, separators=(",", ":")).encode())
    cases = {
        "payload swapped": f"{header_b64}.{forged_payload}.{signature_b64}",
        "signature cut": f"{header_b64}.{payload_b64}.{signature_b64[:-4]}",
        "signature flipped": f"{header_b64}.{payload_b64}.{flipped}",
        "two parts": f"{header_b64}.{payload_b64}",
        "not base64": f"{header_b64}.{payload_b64}.!!!",
        "garbage": "garbage",
        "extra header field": resign(
            {"alg": "Ed25519", "kid": kid, "typ": JWS_TYPE, "crit": ["x"]},
            STATEMENT.payload_bytes(),
            signing_key,
        ),
        "wrong typ": resign(
            {"alg": "Ed25519", "kid": kid, "typ": "JWT"}, STATEMENT.payload_bytes(), signing_key
        ),
        "non-canonical payload": resign(
            {"alg": "Ed25519", "kid": kid, "typ": JWS_TYPE},
            json.dumps(STATEMENT.payload(), indent=1).encode(),
            signing_key,
        ),
        "version 2": resign(
            {"alg": "Ed25519", "kid": kid, "typ": JWS_TYPE},
            json.dumps(
                STATEMENT.payload() | {"v": 2}, sort_keys=True, separators=(",", ":")
            ).encode(),
            signing_key,
        ),
        "root in base64": resign(
            {"alg": "Ed25519", "kid": kid, "typ": JWS_TYPE},
            json.dumps(
                STATEMENT.payload() | {"root": b64(STATEMENT.root)},
                sort_keys=True,
                separators=(",", ":"),
            ).encode(),
            signing_key,
        ),
    }
    for name, bad in cases.items():
        with pytest.raises(InvalidCheckpoint):
            verify_checkpoint(bad, [signing_key.public_key()])
        assert name


def test_eddsa_alg_is_refused(signing_key: Ed25519PrivateKey) -> None:
    header = {"alg": "EdDSA", "kid": key_id(signing_key.public_key()), "typ": JWS_TYPE}
    token = resign(header, STATEMENT.payload_bytes(), signing_key)
    with pytest.raises(InvalidCheckpoint, match="alg"):
        verify_checkpoint(token, [signing_key.public_key()])


def test_invalid_checkpoint_is_a_crypto_error() -> None:
    assert issubclass(InvalidCheckpoint, CryptoError)


def test_malformed_statement_is_not_signed(signing_key: Ed25519PrivateKey) -> None:
    with pytest.raises(InvalidCheckpoint, match="time"):
        sign_checkpoint(Checkpoint(log="x", size=1, root=bytes(32), time="yesterday"), signing_key)
