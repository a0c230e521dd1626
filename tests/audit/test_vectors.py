"""Check the implementation against the published RFC 6962 vectors and our format vectors."""

from __future__ import annotations

import base64
import importlib.util
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from exchange.audit import merkle
from exchange.audit.checkpoint import verify_checkpoint
from exchange.audit.entry import parse_entry
from exchange.audit.proofs import ConsistencyProof, InclusionProof

VECTORS = Path(__file__).resolve().parents[2] / "docs" / "vectors" / "audit"


def load(name: str) -> Any:
    return json.loads((VECTORS / name).read_text(encoding="utf-8"))


PUBLISHED = load("rfc6962-merkle.json")
FORMATS = load("audit-formats.json")


def h(value: str) -> bytes:
    return bytes.fromhex(value)


def published_leaves() -> list[bytes]:
    return [merkle.hash_leaf(h(x)) for x in PUBLISHED["leaf_inputs"]]


def test_empty_root_is_the_published_value() -> None:
    assert merkle.EMPTY_ROOT.hex() == (
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )
    assert PUBLISHED["roots_by_size"][0] == merkle.EMPTY_ROOT.hex()


def test_leaf_hashes_match() -> None:
    assert [x.hex() for x in published_leaves()] == PUBLISHED["leaf_hashes"]


@pytest.mark.parametrize("size", range(9))
def test_roots_and_compact_trees_match(size: int) -> None:
    leaves = published_leaves()[:size]
    assert merkle.root_of(leaves).hex() == PUBLISHED["roots_by_size"][size]
    frontier = merkle.Frontier()
    for leaf in leaves:
        frontier.append(leaf)
    assert [x.hex() for x in frontier.hashes] == PUBLISHED["compact_trees_by_size"][size]
    assert frontier.root().hex() == PUBLISHED["roots_by_size"][size]


@pytest.mark.parametrize("case", PUBLISHED["inclusion_proofs"], ids=str)
def test_published_inclusion_proofs(case: dict[str, Any]) -> None:
    leaves = published_leaves()
    index, size = case["index"], case["tree_size"]
    path = merkle.inclusion_path(index, size, merkle.subtrees_from_leaves(leaves[:size]))
    assert [x.hex() for x in path] == case["path"]
    root = h(PUBLISHED["roots_by_size"][size])
    merkle.verify_inclusion(index, size, leaves[index], [h(x) for x in case["path"]], root)


@pytest.mark.parametrize("case", PUBLISHED["consistency_proofs"], ids=str)
def test_published_consistency_proofs(case: dict[str, Any]) -> None:
    leaves = published_leaves()
    size1, size2 = case["size1"], case["size2"]
    path = merkle.consistency_path(size1, size2, merkle.subtrees_from_leaves(leaves[:size2]))
    assert [x.hex() for x in path] == case["path"]
    roots = PUBLISHED["roots_by_size"]
    merkle.verify_consistency(
        size1, size2, h(roots[size1]), h(roots[size2]), [h(x) for x in case["path"]]
    )


def make_vectors_module() -> Any:
    spec = importlib.util.spec_from_file_location("make_vectors", VECTORS / "make_vectors.py")
    assert spec
    assert spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_format_vectors_are_reproduced_exactly() -> None:
    text = (VECTORS / "audit-formats.json").read_text(encoding="utf-8")
    assert make_vectors_module().render() == text


def test_format_vectors_verify_from_their_own_contents() -> None:
    key = Ed25519PublicKey.from_public_bytes(h(FORMATS["signing_key"]["public_hex"]))
    frontier = merkle.Frontier()
    for seq, item in enumerate(FORMATS["entries"]):
        data = item["canonical"].encode("utf-8")
        assert parse_entry(data) == item["entry"]
        assert parse_entry(data)["seq"] == seq
        assert merkle.hash_leaf(data).hex() == item["leaf_hash"]
        frontier.append(h(item["leaf_hash"]))
        assert frontier.to_bytes().hex() == item["frontier_after_hex"]
        assert frontier.root().hex() == item["root_after"]
    for size, checkpoint in FORMATS["checkpoints"].items():
        verified = verify_checkpoint(checkpoint["jws"], [key])
        assert verified.key_id == FORMATS["signing_key"]["key_id"]
        assert verified.checkpoint.size == int(size)
        assert verified.checkpoint.root.hex() == FORMATS["entries"][int(size) - 1]["root_after"]
        assert verified.checkpoint.payload_bytes().decode() == checkpoint["payload"]
    InclusionProof.from_dict(FORMATS["inclusion_proof"]).verify_signed([key])
    ConsistencyProof.from_dict(FORMATS["consistency_proof"]).verify_signed([key])


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
@pytest.mark.parametrize("size", ["3", "5"])
def test_checkpoint_signatures_verify_with_openssl(size: str, tmp_path: Path) -> None:
    """Check the vector signatures with a tool we did not write (OpenSSL 3, raw Ed25519)."""
    token = FORMATS["checkpoints"][size]["jws"]
    header, payload, signature = token.split(".")
    key = Ed25519PublicKey.from_public_bytes(h(FORMATS["signing_key"]["public_hex"]))
    (tmp_path / "key.pem").write_bytes(
        key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    )
    (tmp_path / "message").write_text(f"{header}.{payload}", encoding="ascii")
    (tmp_path / "signature").write_bytes(base64.urlsafe_b64decode(signature + "=="))
    command = ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", "key.pem", "-rawin"]
    command += ["-in", "message", "-sigfile", "signature"]
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert "Signature Verified Successfully" in result.stdout, result.stderr
