"""Fuzz the small parsers of untrusted text: CTF, JWS, receipts, school cards, receipt codes."""

from __future__ import annotations

import base64
import json
import shutil
from datetime import date
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
from fuzz_kit import bounded, clean, corpus_files, mutate, mutations
from hypothesis import example, given
from hypothesis import strategies as st

from exchange import jws
from exchange.errors import ExchangeError
from exchange.packaging.keys import EncryptionKey, SigningKey
from exchange.packaging.offline import (
    check_receipt_code,
    generate_receipt_code,
    normalise_receipt_code,
    receipt_code_sha256,
)
from exchange.partners.card import SchoolCard
from exchange.receipts.evidence import verify_pack
from exchange.receipts.receipt import RECEIPT_FIELDS, Receipt
from exchange.records.ctf import CtfFile, parse_ctf
from exchange.transfers.messages import COUNTERSIGNATURE, RECEIPT

ASSETS = Path(__file__).parents[1] / "assets" / "imports" / "ctf"
CTF_SEEDS = [p.read_bytes() for p in sorted(ASSETS.glob("*.xml"))] + corpus_files("ctf")
TODAY = date(2025, 7, 1)
KEY = SigningKey.generate()
OTHER_KEY = SigningKey.generate()

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=40)
)
signable = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text(max_size=40),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)


def _ctf(data: bytes) -> CtfFile | ExchangeError:
    return clean(lambda: parse_ctf(data, TODAY), seconds=10)


@bounded(300)
@given(seed=st.sampled_from(CTF_SEEDS), ops=mutations())
def test_ctf_mutated_bytes(seed: bytes, ops: list[tuple[int, int, int, int]]) -> None:
    _ctf(mutate(seed, ops))


def _leaves(root: ElementTree.Element) -> list[ElementTree.Element]:
    return [element for element in root.iter() if len(element) == 0]


@bounded(200)
@given(
    replacements=st.lists(st.tuples(st.integers(0, 200), st.text(max_size=30)), max_size=8),
    drops=st.lists(st.integers(0, 200), max_size=3),
)
def test_ctf_mutated_fields(replacements: list[tuple[int, str]], drops: list[int]) -> None:
    root = ElementTree.fromstring(  # noqa: S314 - our own sample file, not untrusted input.
        next(s for s in CTF_SEEDS if b"<Pupil>" in s)
    )
    leaves = _leaves(root)
    for index, text in replacements:
        leaves[index % len(leaves)].text = "".join(c for c in text if c.isprintable())
    parents = {child: parent for parent in root.iter() for child in parent}
    for index in drops:
        leaf = leaves[index % len(leaves)]
        if leaf in parents and leaf in list(parents[leaf]):
            parents[leaf].remove(leaf)
    result = _ctf(ElementTree.tostring(root))
    if isinstance(result, CtfFile):
        assert all(len(p.upn) == 13 for p in result.pupils)


@bounded(200)
@given(header=json_values, payload=json_values, signature=st.binary(max_size=80))
@example(header={"alg": "Ed25519", "kid": [], "typ": "x"}, payload={}, signature=b"")
@example(header={"alg": "Ed25519", "kid": {}, "typ": "x"}, payload={}, signature=b"")
def test_jws_structured(header: Any, payload: Any, signature: bytes) -> None:
    def segment(value: Any) -> str:
        raw = json.dumps(value).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    token = ".".join([segment(header), segment(payload), segment(signature.hex())])
    for call in (
        lambda: jws.unverified_header(token),
        lambda: jws.unverified_payload(token),
        lambda: jws.verify(token, {KEY.key_id: KEY.public}, "sgx-offer+jws"),
    ):
        result = clean(call)
        if not isinstance(result, ExchangeError):
            assert isinstance(result, dict)


@bounded(300)
@given(payload=st.dictionaries(st.text(max_size=10), signable, max_size=5), ops=mutations())
def test_jws_signed_then_mutated(
    payload: dict[str, Any], ops: list[tuple[int, int, int, int]]
) -> None:
    token = jws.sign(payload, KEY, "sgx-offer+jws")
    keys = {KEY.key_id: KEY.public}
    assert jws.verify(token, keys, "sgx-offer+jws") == payload
    hostile = mutate(token.encode(), ops).decode("latin-1")
    result = clean(lambda: jws.verify(hostile, keys, "sgx-offer+jws"))
    if not isinstance(result, ExchangeError):
        # A mutation that still verifies must decode to the signed payload (base64 slack only).
        assert result == payload


@bounded(100)
@given(text=st.text(max_size=200))
def test_jws_random_text(text: str) -> None:
    clean(lambda: jws.verify(text, {KEY.key_id: KEY.public}, "sgx-offer+jws"))
    clean(lambda: jws.unverified_payload(text))


def _receipt_payload() -> dict[str, Any]:
    return {
        "transfer_id": "tr-fuzz-1",
        "offer_sha256": "0" * 64,
        "ciphertext_sha256": "1" * 64,
        "manifest_sha256": "2" * 64,
        "file_count": 3,
        "disposition": "complete",
        "missing": [],
        "reason": None,
        "received_at": "2025-07-01T10:00:00Z",
        "signing_key_id": KEY.key_id,
        "checkpoint": None,
        "iss": "900002",
        "aud": "900001",
    }


@bounded(300)
@given(
    changes=st.dictionaries(
        st.sampled_from([*RECEIPT_FIELDS, "iss", "aud"]), json_values, max_size=4
    ),
    dropped=st.sets(st.sampled_from(RECEIPT_FIELDS), max_size=2),
)
def test_receipt_from_payload(changes: dict[str, Any], dropped: set[str]) -> None:
    payload = _receipt_payload() | changes
    for name in dropped:
        payload.pop(name)
    result = clean(lambda: Receipt.from_payload(payload))
    if isinstance(result, Receipt):
        assert result.disposition in ("complete", "incomplete", "rejected")


def _pack(folder: Path, receipt: dict[str, Any], counter: dict[str, Any]) -> Path:
    receipt_jws = jws.sign(receipt, KEY, RECEIPT)
    counter = {
        "receipt": receipt_jws,
        "receipt_sha256": __import__("hashlib").sha256(receipt_jws.encode()).hexdigest(),
        "transfer_id": receipt.get("transfer_id"),
        "verified": True,
        "iss": "900001",
        "aud": "900002",
        "iat": 1_751_365_860,
    } | counter
    counter_jws = jws.sign(counter, OTHER_KEY, COUNTERSIGNATURE)
    folder.mkdir(parents=True)
    (folder / "receipt.jws").write_text(receipt_jws + "\n")
    (folder / "countersignature.jws").write_text(counter_jws + "\n")
    (folder / "receiver-signing.pem").write_bytes(KEY.public.to_pem())
    (folder / "sender-signing.pem").write_bytes(OTHER_KEY.public.to_pem())
    return folder


def test_a_good_card_parses() -> None:
    assert SchoolCard.from_json(CARD).urn == "900001"


def test_a_good_pack_verifies(tmp_path: Path) -> None:
    folder = _pack(tmp_path / "pack", _receipt_payload(), {})
    assert verify_pack(folder).receipt.file_count == 3


@bounded(150)
@given(
    receipt_changes=st.dictionaries(
        st.sampled_from([*RECEIPT_FIELDS, "iss", "aud"]), signable, max_size=3
    ),
    counter_changes=st.dictionaries(
        st.sampled_from(["transfer_id", "verified", "iss", "aud", "iat"]), signable, max_size=3
    ),
)
def test_evidence_pack_signed_by_its_own_keys(
    tmp_path_factory: pytest.TempPathFactory,
    receipt_changes: dict[str, Any],
    counter_changes: dict[str, Any],
) -> None:
    # A pack carries its own public keys, so whoever made it can sign any payload.
    folder = _pack(
        tmp_path_factory.mktemp("pack") / "p", _receipt_payload() | receipt_changes, counter_changes
    )
    clean(lambda: verify_pack(folder))
    shutil.rmtree(folder)


@bounded(150)
@given(
    name=st.sampled_from(
        ["receipt.jws", "countersignature.jws", "receiver-signing.pem", "sender-signing.pem"]
    ),
    ops=mutations(),
)
def test_evidence_pack_mutated_files(
    tmp_path_factory: pytest.TempPathFactory, name: str, ops: list[tuple[int, int, int, int]]
) -> None:
    folder = _pack(tmp_path_factory.mktemp("pack") / "p", _receipt_payload(), {})
    path = folder / name
    path.write_bytes(mutate(path.read_bytes(), ops))
    clean(lambda: verify_pack(folder))
    shutil.rmtree(folder)


def _card() -> dict[str, Any]:
    encryption = EncryptionKey.generate()
    return {
        "format": "safeguarding-exchange.school-card",
        "version": 1,
        "urn": "900001",
        "laestab": "8012001",
        "name": "Fuzz Test School",
        "service_url": "https://a.example.test",
        "signing_key": {"ed25519": base64.b64encode(KEY.public.raw).decode(), "key_id": KEY.key_id},
        "encryption_key": {
            "age_recipient": encryption.public.recipient,
            "key_id": encryption.key_id,
        },
    }


CARD = _card()


@bounded(300)
@given(
    path=st.lists(
        st.sampled_from(sorted({*CARD, "ed25519", "key_id", "age_recipient"})),
        min_size=1,
        max_size=2,
    ),
    value=json_values,
)
def test_school_card_from_json(path: list[str], value: Any) -> None:
    card = json.loads(json.dumps(CARD))
    target = card
    for key in path[:-1]:
        target = target.get(key) if isinstance(target.get(key), dict) else target
    target[path[-1]] = value
    clean(lambda: SchoolCard.from_json(card))


@bounded(100)
@given(value=json_values)
def test_school_card_any_json(value: Any) -> None:
    clean(lambda: SchoolCard.from_json(value))


@bounded(300)
@given(entered=st.text(max_size=80))
def test_receipt_code(entered: str) -> None:
    code = generate_receipt_code()
    stored = receipt_code_sha256(code)
    assert check_receipt_code(stored, code)
    normalised = normalise_receipt_code(entered)
    assert normalised.isascii()
    assert normalised == normalise_receipt_code(normalised)
    assert check_receipt_code(stored, entered) == (normalised == normalise_receipt_code(code))
    assert isinstance(check_receipt_code("x" * 64, entered), bool)
    assert isinstance(check_receipt_code(stored, code.lower().replace("-", " ")), bool)
