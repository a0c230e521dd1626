"""The negative vectors in docs/vectors/bundle-negative/: rebuilt byte for byte, each refused."""

from __future__ import annotations

import importlib.util
import io
import json
from pathlib import Path
from types import ModuleType

import pytest

from exchange.packaging import InvalidBundle
from exchange.packaging.bundle import Bundle, Expectations, verify_bundle
from exchange.packaging.keys import EncryptionKey, SigningPublicKey

VECTORS = Path(__file__).resolve().parents[2] / "docs" / "vectors" / "bundle-negative"
INDEX = json.loads((VECTORS / "index.json").read_text())


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_negative", VECTORS / "make_vectors.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _keys() -> tuple[list[EncryptionKey], list[SigningPublicKey]]:
    identity = (VECTORS / INDEX["identity"]).read_text()
    sender = (VECTORS / INDEX["sender_public_key"]).read_bytes()
    return EncryptionKey.from_identity_file(identity), [SigningPublicKey.from_pem(sender)]


def test_the_script_rebuilds_every_vector_byte_for_byte() -> None:
    assert _script().check() == []


def test_every_step_has_a_vector() -> None:
    assert {item["step"] for item in INDEX["vectors"]} == set(range(1, 12))


@pytest.mark.parametrize("item", INDEX["vectors"], ids=lambda item: item["file"])
def test_each_vector_is_refused_at_its_step(item: dict[str, object], scratch_tmp: Path) -> None:
    identities, senders = _keys()
    data = (VECTORS / str(item["file"])).read_bytes()
    with pytest.raises(InvalidBundle) as opened:
        Bundle.from_bytes(data, identities, senders, INDEX["recipient_urn"])
    assert str(opened.value) == item["message"]
    assert str(opened.value).startswith(f"step {item['step']}: ")
    expect = Expectations(tuple(identities), tuple(senders), INDEX["recipient_urn"])
    with pytest.raises(InvalidBundle) as verified:
        verify_bundle(io.BytesIO(data), expect)
    assert str(verified.value) == item["message"]
    assert list(scratch_tmp.iterdir()) == []
