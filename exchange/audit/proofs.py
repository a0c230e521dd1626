"""Proof documents a third party can check offline with the school's public keys.

An inclusion proof carries the entry's canonical bytes, its Merkle path and the signed
checkpoint it leads to; a consistency proof carries two signed checkpoints and the path
between them. Verification steps are numbered as in docs/audit-log.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from exchange.audit.checkpoint import PublicKeys, VerifiedCheckpoint, verify_checkpoint
from exchange.audit.entry import parse_entry
from exchange.audit.errors import ProofError
from exchange.audit.merkle import hash_leaf, verify_consistency, verify_inclusion
from exchange.errors import ValidationError

PROOF_VERSION = 1
HEX_HASH = re.compile(r"[0-9a-f]{64}")
INCLUSION_KEYS = frozenset({"v", "type", "log", "seq", "tree_size", "entry", "path", "checkpoint"})
CONSISTENCY_KEYS = frozenset(
    {"v", "type", "log", "size1", "size2", "path", "checkpoint1", "checkpoint2"}
)


def _hashes_from_hex(values: Any, where: str) -> list[bytes]:
    if not isinstance(values, list) or not all(
        isinstance(v, str) and HEX_HASH.fullmatch(v) for v in values
    ):
        raise ProofError(f"{where} must be a list of 64-digit lowercase hex hashes")
    return [bytes.fromhex(v) for v in values]


def _int(value: Any, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ProofError(f"{where} must be a non-negative integer")
    return value


def _check_header(document: Any, keys: frozenset[str], kind: str) -> None:
    if not isinstance(document, dict) or set(document) != keys:
        raise ProofError(f"an {kind} proof document holds exactly {sorted(keys)}")
    if document["v"] != PROOF_VERSION or document["type"] != kind:
        raise ProofError(f"not a version {PROOF_VERSION} {kind} proof")


@dataclass(frozen=True)
class InclusionProof:
    """Proof that one entry is leaf seq of the log's tree of size tree_size."""

    log: str
    seq: int
    tree_size: int
    entry: bytes
    path: list[bytes]
    checkpoint: str | None

    @property
    def leaf_hash(self) -> bytes:
        """Return the leaf hash of the entry bytes."""
        return hash_leaf(self.entry)

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON document form (version 1)."""
        return {
            "v": PROOF_VERSION,
            "type": "inclusion",
            "log": self.log,
            "seq": self.seq,
            "tree_size": self.tree_size,
            "entry": self.entry.decode("utf-8"),
            "path": [node.hex() for node in self.path],
            "checkpoint": self.checkpoint,
        }

    @classmethod
    def from_dict(cls, document: Any) -> InclusionProof:
        """Parse the JSON document form, refusing anything malformed."""
        _check_header(document, INCLUSION_KEYS, "inclusion")
        if not isinstance(document["entry"], str) or not isinstance(document["log"], str):
            raise ProofError("entry and log must be strings")
        checkpoint = document["checkpoint"]
        if checkpoint is not None and not isinstance(checkpoint, str):
            raise ProofError("checkpoint must be a compact JWS string or null")
        return cls(
            log=document["log"],
            seq=_int(document["seq"], "seq"),
            tree_size=_int(document["tree_size"], "tree_size"),
            entry=document["entry"].encode("utf-8"),
            path=_hashes_from_hex(document["path"], "path"),
            checkpoint=checkpoint,
        )

    def verify(self, root: bytes) -> None:
        """Check the entry and path against a root hash the caller already trusts."""
        # Step 1: the entry is a canonical version 1 entry that names this seq.
        try:
            entry = parse_entry(self.entry)
        except ValidationError as exc:
            raise ProofError(f"the entry is not a valid canonical entry: {exc}") from exc
        if entry["seq"] != self.seq:
            raise ProofError(f"the entry says seq {entry['seq']}, the proof says {self.seq}")
        # Step 2: leaf hash, then the RFC 9162 §2.1.3.2 path to the root.
        verify_inclusion(self.seq, self.tree_size, self.leaf_hash, self.path, root)

    def verify_signed(self, public_keys: PublicKeys) -> VerifiedCheckpoint:
        """Verify the checkpoint's signature, then the entry and path against its root."""
        if self.checkpoint is None:
            raise ProofError("the proof carries no signed checkpoint")
        verified = verify_checkpoint(self.checkpoint, public_keys)
        _check_checkpoint_matches(verified, self.log, self.tree_size)
        self.verify(verified.checkpoint.root)
        return verified


@dataclass(frozen=True)
class ConsistencyProof:
    """Proof that the log's tree of size1 is a prefix of its tree of size2."""

    log: str
    size1: int
    size2: int
    path: list[bytes]
    checkpoint1: str | None
    checkpoint2: str | None

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON document form (version 1)."""
        return {
            "v": PROOF_VERSION,
            "type": "consistency",
            "log": self.log,
            "size1": self.size1,
            "size2": self.size2,
            "path": [node.hex() for node in self.path],
            "checkpoint1": self.checkpoint1,
            "checkpoint2": self.checkpoint2,
        }

    @classmethod
    def from_dict(cls, document: Any) -> ConsistencyProof:
        """Parse the JSON document form, refusing anything malformed."""
        _check_header(document, CONSISTENCY_KEYS, "consistency")
        for key in ("checkpoint1", "checkpoint2"):
            if document[key] is not None and not isinstance(document[key], str):
                raise ProofError(f"{key} must be a compact JWS string or null")
        if not isinstance(document["log"], str):
            raise ProofError("log must be a string")
        return cls(
            log=document["log"],
            size1=_int(document["size1"], "size1"),
            size2=_int(document["size2"], "size2"),
            path=_hashes_from_hex(document["path"], "path"),
            checkpoint1=document["checkpoint1"],
            checkpoint2=document["checkpoint2"],
        )

    def verify(self, root1: bytes, root2: bytes) -> None:
        """Check the path against two root hashes the caller already trusts (§2.1.4.2)."""
        verify_consistency(self.size1, self.size2, root1, root2, self.path)

    def verify_signed(self, public_keys: PublicKeys) -> None:
        """Verify both checkpoints' signatures, then the path between their roots."""
        if self.checkpoint1 is None or self.checkpoint2 is None:
            raise ProofError("the proof does not carry both signed checkpoints")
        first = verify_checkpoint(self.checkpoint1, public_keys)
        second = verify_checkpoint(self.checkpoint2, public_keys)
        _check_checkpoint_matches(first, self.log, self.size1)
        _check_checkpoint_matches(second, self.log, self.size2)
        self.verify(first.checkpoint.root, second.checkpoint.root)


def _check_checkpoint_matches(verified: VerifiedCheckpoint, log: str, size: int) -> None:
    if verified.checkpoint.log != log:
        raise ProofError(f"the checkpoint is for log {verified.checkpoint.log!r}, not {log!r}")
    if verified.checkpoint.size != size:
        raise ProofError(f"the checkpoint is for size {verified.checkpoint.size}, not {size}")
