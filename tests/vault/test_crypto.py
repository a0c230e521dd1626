"""At-rest encryption: round trips, tampering, truncation and key destruction."""

from __future__ import annotations

import io
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exchange.errors import CryptoError
from exchange.vault.crypto import (
    CHUNK_SIZE,
    decrypt_stream,
    encrypt_stream,
    new_key,
    unwrap_key,
    wrap_key,
)


def _encrypt(key: bytes, data: bytes, context: bytes = b"ctx") -> bytes:
    return b"".join(encrypt_stream(key, context, io.BytesIO(data)))


def _decrypt(key: bytes, blob: bytes, context: bytes = b"ctx") -> bytes:
    return b"".join(decrypt_stream(key, context, io.BytesIO(blob)))


@pytest.mark.parametrize("size", [0, 1, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1, 3 * CHUNK_SIZE])
def test_round_trip_at_chunk_boundaries(size: int) -> None:
    key, data = new_key(), os.urandom(size)
    assert _decrypt(key, _encrypt(key, data)) == data


def test_wrong_key_or_context_fails() -> None:
    key, blob = new_key(), _encrypt(new_key(), b"x" * 10)
    with pytest.raises(CryptoError):
        _decrypt(key, blob)
    key = new_key()
    with pytest.raises(CryptoError):
        _decrypt(key, _encrypt(key, b"data"), context=b"other")


def test_truncation_at_a_chunk_boundary_is_detected() -> None:
    key = new_key()
    blob = _encrypt(key, os.urandom(2 * CHUNK_SIZE + 10))
    header = 8 + 16
    one_chunk = header + CHUNK_SIZE + 16
    with pytest.raises(CryptoError):
        _decrypt(key, blob[:one_chunk])
    with pytest.raises(CryptoError):
        _decrypt(key, blob[: one_chunk + CHUNK_SIZE + 16])


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_any_flipped_byte_is_detected(data: st.DataObject) -> None:
    key = new_key()
    blob = bytearray(_encrypt(key, b"safeguarding record " * 5000))
    position = data.draw(st.integers(0, len(blob) - 1))
    blob[position] ^= data.draw(st.integers(1, 255))
    with pytest.raises(CryptoError):
        _decrypt(key, bytes(blob))


def test_wrapped_keys_are_bound_to_their_context() -> None:
    instance_key, data_key = new_key(), new_key()
    wrapped = wrap_key(instance_key, data_key, b"pupil 1")
    assert unwrap_key(instance_key, wrapped, b"pupil 1") == data_key
    with pytest.raises(CryptoError):
        unwrap_key(instance_key, wrapped, b"pupil 2")
    with pytest.raises(CryptoError):
        unwrap_key(new_key(), wrapped, b"pupil 1")
