"""The one JWS module: tokens OpenSSL can check, strict parsing, and the legacy alg name."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from exchange import jws
from exchange.audit.checkpoint import Checkpoint, sign_checkpoint, verify_checkpoint
from exchange.packaging.errors import InvalidBundle
from exchange.packaging.jws import sign_compact, verify_compact
from exchange.packaging.keys import SigningKey

KEY, OTHER = SigningKey.generate(), SigningKey.generate()
TYP = "sgx-offer+jws"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _forge(header: dict[str, object], payload: bytes, key: SigningKey = KEY) -> str:
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(payload)}"
    return f"{signing_input}.{_b64(key.sign(signing_input.encode()))}"


DUPLICATE_KEYS = _b64(b'{"a":1,"a":2}')


def test_every_signer_writes_the_same_header_shape() -> None:
    """Messages, manifests and checkpoints all carry exactly alg Ed25519, kid and typ."""
    when = "2026-11-29T12:00:00.000000Z"
    checkpoint = Checkpoint(log="exchange-audit:school:1", size=1, root=bytes(32), time=when)
    tokens = [
        jws.sign({"a": 1}, KEY, TYP),
        sign_compact(b"{}", KEY, "sgx-manifest+jws"),
        sign_checkpoint(checkpoint, KEY),
    ]
    for token in tokens:
        header = jws.parse(token).header
        assert set(header) == {"alg", "kid", "typ"}
        assert (header["alg"], header["kid"]) == ("Ed25519", KEY.key_id)
    assert verify_checkpoint(tokens[2], [KEY.public]).key_id == KEY.key_id


def test_openssl_verifies_a_protocol_message(tmp_path: Path) -> None:
    """OpenSSL checks the signature over header.payload with the PEM public key."""
    openssl = shutil.which("openssl") or pytest.skip("openssl is not installed")
    token = jws.sign({"transfer_id": "tr-1"}, KEY, TYP)
    header, payload, signature = token.split(".")
    (tmp_path / "key.pem").write_bytes(KEY.public.to_pem())
    (tmp_path / "input").write_text(f"{header}.{payload}")
    (tmp_path / "sig").write_bytes(base64.urlsafe_b64decode(signature + "=="))
    command = [openssl, "pkeyutl", "-verify", "-rawin", "-pubin", "-inkey", "key.pem"]
    result = subprocess.run(
        [*command, "-sigfile", "sig", "-in", "input"], cwd=tmp_path, capture_output=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("token", "message"),
    [
        ("a.b", "three dot-separated parts"),
        ("a.b.c.d", "three dot-separated parts"),
        ("x" * (jws.MAX_TOKEN_BYTES + 1) + "..", "longer than 65536 bytes"),
        ("e30=.e30.AAAA", "header is not base64url"),
        ("e+0.e30.AAAA", "header is not base64url"),
        (f"{_b64(b'[1]')}.e30.AAAA", "header is not a JSON object"),
        (DUPLICATE_KEYS + ".e30.AAAA", "header is not JSON"),
        (f"{_b64(b'{}')}.e30.A", "signature is not base64url"),
    ],
)
def test_parsing_is_strict(token: str, message: str) -> None:
    """Padding, foreign characters, duplicate keys and wrong shapes are all refused."""
    with pytest.raises(jws.InvalidSignature, match=message):
        jws.parse(token)


def test_verify_names_the_reason() -> None:
    """Wrong type, unknown key and a bad signature each say which."""
    token = jws.sign({"a": 1}, KEY, TYP)
    keys = {KEY.key_id: KEY.public}
    with pytest.raises(jws.InvalidSignature) as wrong_type:
        jws.verify(token, keys, "sgx-receipt+jws")
    with pytest.raises(jws.InvalidSignature) as unknown:
        jws.verify(token, {OTHER.key_id: OTHER.public}, TYP)
    forged = _forge({"alg": "Ed25519", "kid": KEY.key_id, "typ": TYP}, b'{"a":1}', OTHER)
    with pytest.raises(jws.InvalidSignature) as bad:
        jws.verify(forged, keys, TYP)
    assert [wrong_type.value.reason, unknown.value.reason, bad.value.reason] == [
        "type",
        "unknown_key",
        "signature",
    ]
    assert jws.verify(token, keys, TYP) == {"a": 1}


def test_the_legacy_alg_name_is_read_only_where_the_format_allows_it() -> None:
    """A manifest signed as EdDSA (RFC 8037) verifies; a protocol message so signed does not."""
    header = {"alg": "EdDSA", "kid": KEY.key_id, "typ": "sgx-manifest+jws"}
    token = _forge(header, b"{}")
    assert verify_compact(token, [KEY.public], "sgx-manifest+jws", "step 4")[1] == b"{}"
    with pytest.raises(jws.InvalidSignature, match="exactly alg Ed25519"):
        jws.verify(_forge({**header, "typ": TYP}, b"{}"), {KEY.key_id: KEY.public}, TYP)
    none_alg = _forge({**header, "alg": "none"}, b"{}")
    with pytest.raises(InvalidBundle, match="is not Ed25519"):
        verify_compact(none_alg, [KEY.public], "sgx-manifest+jws", "step 4")


def test_a_manifest_larger_than_joserfc_default_cap_signs_and_verifies() -> None:
    """A 10,000-file manifest is about 1.5 MB: far over joserfc's 128 kB default payload cap."""
    payload = json.dumps({"files": [{"name": f"vault/{n:05d}.pdf"} for n in range(10_000)]})
    token = sign_compact(payload.encode(), KEY, "sgx-manifest+jws")
    assert len(token) > 300_000
    assert verify_compact(token, [KEY.public], "sgx-manifest+jws", "step 5")[1] == payload.encode()
    with pytest.raises(jws.InvalidSignature, match="longer than"):
        jws.verify(token, {KEY.key_id: KEY.public}, "sgx-manifest+jws")


def test_a_long_manifest_header_is_judged_by_its_signature_not_its_length() -> None:
    """A validly signed manifest with an extra long header field verifies, as it did in v1."""
    header = {"alg": "Ed25519", "kid": KEY.key_id, "typ": "sgx-manifest+jws", "x": "a" * 600}
    token = _forge(header, b"{}")
    assert verify_compact(token, [KEY.public], "sgx-manifest+jws", "step 5")[1] == b"{}"
    with pytest.raises(InvalidBundle, match="does not verify"):
        verify_compact(_forge(header, b"{}", OTHER), [KEY.public], "sgx-manifest+jws", "step 5")


@pytest.mark.parametrize("part", ["header", "payload"])
def test_json_nested_thousands_deep_is_refused_not_a_recursion_error(part: str) -> None:
    key = SigningKey.generate()
    deep = jws.b64url(b'{"a":' + b"[" * 5000 + b"]" * 5000 + b"}")
    good = jws.sign({"n": 1}, key, "sgx-test+jws").split(".")
    header, payload = (deep, good[1]) if part == "header" else (good[0], deep)
    with pytest.raises(jws.InvalidSignature, match=f"JWS {part} is refused: JSON document nests"):
        jws.unverified_payload(f"{header}.{payload}.{good[2]}")
