"""Write audit-formats.json: entry, frontier, checkpoint and proof vectors from fixed inputs.

Run `python docs/vectors/audit/make_vectors.py` after a deliberate format change; the tests
fail whenever the code and this file disagree. The signing key is test 1 of RFC 8032 §7.1,
so anyone can reproduce the (deterministic) Ed25519 signatures.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from exchange.audit.checkpoint import Checkpoint, key_id, sign_checkpoint
from exchange.audit.entry import build_entry, canonical_bytes, format_time
from exchange.audit.merkle import (
    Frontier,
    consistency_path,
    hash_leaf,
    inclusion_path,
    subtrees_from_leaves,
)
from exchange.audit.proofs import ConsistencyProof, InclusionProof

# The published RFC 8032 test key: a known value, never a real secret.
RFC8032_TEST1_SECRET = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"  # noqa: S105
RFC8032_TEST1_PUBLIC = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
START = datetime(2025, 9, 1, 8, 30, tzinfo=UTC)
LOG = "exchange-audit:school:1"
EVENTS = [
    ("7", "dsl", "transfer.created", "transfer", "1f0c9b2e", {"pupil_id": 42}),
    ("7", "dsl", "transfer.offered", "transfer", "1f0c9b2e", {"recipient_school_id": 3}),
    ("12", "dpo", "record.viewed", "pupil", "42", {}),
    (None, "system", "retention.purged", "pupil", "17", {"rule": "dob_plus_25", "rows": 31}),
    ("7", "dsl", "transfer.authorised", "transfer", "1f0c9b2e", {"second_person_id": 9}),
]
OUTPUT = Path(__file__).with_name("audit-formats.json")


def build() -> dict[str, Any]:
    """Return the vectors document."""
    key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(RFC8032_TEST1_SECRET))
    entries, leaves, frontiers = [], [], [Frontier()]
    for seq, (user, role, event, object_type, object_id, details) in enumerate(EVENTS):
        entry = build_entry(
            seq=seq,
            school=1,
            time=START + timedelta(minutes=seq, microseconds=seq * 1001),
            actor_user=user,
            actor_role=role,
            event=event,
            object_type=object_type,
            object_id=object_id,
            request=f"req-{seq:04d}",
            details=details,
        )
        data = canonical_bytes(entry)
        leaves.append(hash_leaf(data))
        frontier = frontiers[-1].copy()
        frontier.append(leaves[-1])
        frontiers.append(frontier)
        entries.append(
            {
                "entry": entry,
                "canonical": data.decode("utf-8"),
                "leaf_hash": leaves[-1].hex(),
                "frontier_after_hex": frontier.to_bytes().hex(),
                "frontier_after_json": json.loads(frontier.to_json()),
                "root_after": frontier.root().hex(),
            }
        )
    subtree = subtrees_from_leaves(leaves)
    checkpoints = {}
    for size in (3, 5):
        statement = Checkpoint(
            log=LOG,
            size=size,
            root=frontiers[size].root(),
            time=format_time(START + timedelta(hours=size)),
        )
        checkpoints[size] = {
            "payload": statement.payload_bytes().decode("utf-8"),
            "jws": sign_checkpoint(statement, key),
        }
    inclusion = InclusionProof(
        log=LOG,
        seq=2,
        tree_size=5,
        entry=canonical_bytes(entries[2]["entry"]),
        path=inclusion_path(2, 5, subtree),
        checkpoint=checkpoints[5]["jws"],
    )
    consistency = ConsistencyProof(
        log=LOG,
        size1=3,
        size2=5,
        path=consistency_path(3, 5, subtree),
        checkpoint1=checkpoints[3]["jws"],
        checkpoint2=checkpoints[5]["jws"],
    )
    return {
        "description": "Audit log format vectors (entry v1, frontier v1, checkpoint v1, proof v1).",
        "signing_key": {
            "source": "RFC 8032 section 7.1, TEST 1",
            "secret_hex": RFC8032_TEST1_SECRET,
            "public_hex": RFC8032_TEST1_PUBLIC,
            "key_id": key_id(key.public_key()),
        },
        "log": LOG,
        "entries": entries,
        "checkpoints": {str(size): value for size, value in checkpoints.items()},
        "inclusion_proof": inclusion.to_dict(),
        "consistency_proof": consistency.to_dict(),
    }


def render() -> str:
    """Return the vectors document as the exact text stored in the file."""
    return json.dumps(build(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    OUTPUT.write_text(render(), encoding="utf-8")
    print(f"wrote {OUTPUT}")
