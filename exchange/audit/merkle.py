"""RFC 9162 Merkle tree hashing, a compact frontier, and inclusion and consistency proofs.

Section numbers in comments refer to RFC 9162 (Certificate Transparency 2.0), whose tree
hashing is identical to RFC 6962. Leaves are numbered from 0; a tree of size n holds the
leaves 0 .. n-1.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence

from exchange.audit.errors import ProofError

HASH_SIZE = 32
LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
# §2.1.1: the hash of an empty list is the hash of an empty string.
EMPTY_ROOT = hashlib.sha256(b"").digest()
FRONTIER_FORMAT = 1
_SIZE_BYTES = 8

# A function returning MTH(D[start:end]) of the log for one range of leaves.
SubtreeHash = Callable[[int, int], bytes]


def hash_leaf(data: bytes) -> bytes:
    """Return the leaf hash SHA-256(0x00 || data) (§2.1.1)."""
    return hashlib.sha256(LEAF_PREFIX + data).digest()


def hash_children(left: bytes, right: bytes) -> bytes:
    """Return the interior node hash SHA-256(0x01 || left || right) (§2.1.1)."""
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def split_point(n: int) -> int:
    """Return k, the largest power of two smaller than n, for n > 1 (§2.1.1)."""
    if n < 2:
        raise ValueError("a split needs at least two leaves")
    return 1 << ((n - 1).bit_length() - 1)


def fold_right(hashes: Sequence[bytes]) -> bytes:
    """Combine perfect subtree hashes, ordered left to right with sizes descending."""
    if not hashes:
        raise ValueError("nothing to fold")
    root = hashes[-1]
    for left in reversed(hashes[:-1]):
        root = hash_children(left, root)
    return root


def root_of(leaf_hashes: Sequence[bytes]) -> bytes:
    """Return MTH of a list of leaf hashes (§2.1.1), in O(n) time and O(log n) memory."""
    frontier = Frontier()
    for leaf_hash in leaf_hashes:
        frontier.append(leaf_hash)
    return frontier.root()


class Frontier:
    """The right edge of a tree: one perfect subtree hash per set bit of its size.

    Appending a leaf merges at most log2(n) hashes and the root folds at most log2(n), so
    neither ever re-hashes the log. Hashes are ordered left to right, largest subtree first.
    """

    __slots__ = ("hashes", "size")

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        if size < 0:
            raise ValueError("a tree size cannot be negative")
        if len(hashes) != size.bit_count():
            raise ValueError(f"a tree of size {size} needs {size.bit_count()} frontier hashes")
        if any(len(h) != HASH_SIZE for h in hashes):
            raise ValueError("every frontier hash must be 32 bytes")
        self.size = size
        self.hashes = list(hashes)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Frontier):
            return NotImplemented
        return self.size == other.size and self.hashes == other.hashes

    __hash__ = None  # type: ignore[assignment]  # Frontiers are mutable.

    def __repr__(self) -> str:
        return f"Frontier(size={self.size}, root={self.root().hex()})"

    def copy(self) -> Frontier:
        """Return an independent copy."""
        return Frontier(self.size, self.hashes)

    def append(self, leaf_hash: bytes) -> None:
        """Add one leaf hash, merging completed subtrees."""
        if len(leaf_hash) != HASH_SIZE:
            raise ValueError("a leaf hash must be 32 bytes")
        node, bits = leaf_hash, self.size
        while bits & 1:
            node = hash_children(self.hashes.pop(), node)
            bits >>= 1
        self.hashes.append(node)
        self.size += 1

    def root(self) -> bytes:
        """Return MTH of the tree (§2.1.1)."""
        return fold_right(self.hashes) if self.hashes else EMPTY_ROOT

    def subtree_sizes(self) -> list[int]:
        """Return the sizes of the frontier's subtrees, left to right."""
        return [
            1 << bit for bit in range(self.size.bit_length() - 1, -1, -1) if self.size >> bit & 1
        ]

    def hashes_from(self, start: int) -> list[bytes]:
        """Return the subtree hashes covering leaves start .. size-1; start must be a boundary."""
        position = 0
        for index, width in enumerate(self.subtree_sizes()):
            if position == start:
                return self.hashes[index:]
            position += width
        raise ValueError(f"leaf {start} is not a subtree boundary of a tree of size {self.size}")

    def to_bytes(self) -> bytes:
        """Serialise as: format byte 0x01, size as 8 bytes big-endian, then the hashes."""
        header = bytes([FRONTIER_FORMAT]) + self.size.to_bytes(_SIZE_BYTES, "big")
        return header + b"".join(self.hashes)

    @classmethod
    def from_bytes(cls, data: bytes) -> Frontier:
        """Parse the output of to_bytes, refusing anything else."""
        if len(data) < 1 + _SIZE_BYTES or data[0] != FRONTIER_FORMAT:
            raise ValueError("not a version 1 frontier")
        size = int.from_bytes(data[1 : 1 + _SIZE_BYTES], "big")
        body = data[1 + _SIZE_BYTES :]
        if len(body) != HASH_SIZE * size.bit_count():
            raise ValueError(f"a frontier of size {size} must hold {size.bit_count()} hashes")
        hashes = [body[i : i + HASH_SIZE] for i in range(0, len(body), HASH_SIZE)]
        return cls(size, hashes)

    def to_json(self) -> str:
        """Serialise as JSON: {"v": 1, "size": n, "hashes": [hex, ...]}."""
        body = {"v": FRONTIER_FORMAT, "size": self.size, "hashes": [h.hex() for h in self.hashes]}
        return json.dumps(body, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Frontier:
        """Parse the output of to_json, refusing anything else."""
        body = json.loads(text)
        if not isinstance(body, dict) or body.get("v") != FRONTIER_FORMAT:
            raise ValueError("not a version 1 frontier")
        size, hashes = body.get("size"), body.get("hashes")
        if not isinstance(size, int) or not isinstance(hashes, list):
            raise ValueError("a frontier needs an integer size and a list of hashes")
        return cls(size, [bytes.fromhex(h) for h in hashes])


def subtrees_from_leaves(leaf_hashes: Sequence[bytes]) -> SubtreeHash:
    """Return a SubtreeHash that hashes ranges of an in-memory list of leaf hashes."""

    def subtree(start: int, end: int) -> bytes:
        return root_of(leaf_hashes[start:end])

    return subtree


def subtrees_from_frontiers(
    frontier_at: Callable[[int], Frontier], leaf_hash_at: Callable[[int], bytes]
) -> SubtreeHash:
    """Return a SubtreeHash that reads stored frontiers instead of re-hashing leaves.

    Every range a proof asks for is either a perfect aligned subtree [a, a + 2^h) or a
    right edge [s, n) of the tree of size n; each costs two reads and O(log n) hashes.
    frontier_at(size) returns the frontier of the tree of that size (size >= 1).
    """

    def subtree(start: int, end: int) -> bytes:
        width = end - start
        if width < 1:
            raise ValueError("an empty range has no subtree hash")
        if width == 1:
            return leaf_hash_at(start)
        if width & (width - 1) == 0 and start % width == 0:
            # The tree of size end-1 ends with the perfect subtrees of [start, end-1).
            before_last = frontier_at(end - 1)
            return fold_right([*before_last.hashes_from(start), leaf_hash_at(end - 1)])
        return fold_right(frontier_at(end).hashes_from(start))

    return subtree


def inclusion_path(index: int, size: int, subtree: SubtreeHash) -> list[bytes]:
    """Return PATH(index, D[0:size]) (§2.1.3.1), the sibling hashes from leaf to root."""
    if not 0 <= index < size:
        raise ProofError(f"leaf {index} is not in a tree of size {size}")
    siblings: list[bytes] = []
    start, end = 0, size
    while end - start > 1:
        k = split_point(end - start)
        if index < start + k:
            siblings.append(subtree(start + k, end))
            end = start + k
        else:
            siblings.append(subtree(start, start + k))
            start += k
    siblings.reverse()
    return siblings


def inclusion_path_length(index: int, size: int) -> int:
    """Return how many hashes PATH(index, D[0:size]) holds."""
    if not 0 <= index < size:
        raise ProofError(f"leaf {index} is not in a tree of size {size}")
    length, start, end = 0, 0, size
    while end - start > 1:
        k = split_point(end - start)
        length += 1
        if index < start + k:
            end = start + k
        else:
            start += k
    return length


def consistency_path(size1: int, size2: int, subtree: SubtreeHash) -> list[bytes]:
    """Return PROOF(size1, D[0:size2]) (§2.1.4.1); empty when size1 is 0 or equals size2."""
    _check_sizes(size1, size2)
    if size1 in (0, size2):
        return []
    siblings: list[bytes] = []
    start, end, m, whole_old_tree = 0, size2, size1, True
    while True:
        n = end - start
        if m == n:
            # SUBPROOF(m, D[m], b): nothing if this is the old tree itself, else its hash.
            if not whole_old_tree:
                siblings.append(subtree(start, end))
            break
        k = split_point(n)
        if m <= k:
            siblings.append(subtree(start + k, end))
            end = start + k
        else:
            siblings.append(subtree(start, start + k))
            start += k
            m -= k
            whole_old_tree = False
    siblings.reverse()
    return siblings


def consistency_path_length(size1: int, size2: int) -> int:
    """Return how many hashes PROOF(size1, D[0:size2]) holds."""
    _check_sizes(size1, size2)
    if size1 in (0, size2):
        return 0
    length, start, end, m, whole_old_tree = 0, 0, size2, size1, True
    while True:
        n = end - start
        if m == n:
            return length + (0 if whole_old_tree else 1)
        k = split_point(n)
        length += 1
        if m <= k:
            end = start + k
        else:
            start += k
            m -= k
            whole_old_tree = False


def _check_sizes(size1: int, size2: int) -> None:
    if size1 < 0 or size2 < 0:
        raise ProofError(f"tree sizes cannot be negative (got {size1} and {size2})")
    if size1 > size2:
        raise ProofError(f"the first tree ({size1}) is larger than the second ({size2})")


def _check_hash(value: bytes, what: str) -> None:
    if len(value) != HASH_SIZE:
        raise ProofError(f"{what} is {len(value)} bytes, not {HASH_SIZE}")


def root_from_inclusion_path(
    index: int, size: int, leaf_hash: bytes, path: Sequence[bytes]
) -> bytes:
    """Return the root that an inclusion path implies, following §2.1.3.2 steps 1-4."""
    _check_hash(leaf_hash, "the leaf hash")
    for position, node in enumerate(path):
        _check_hash(node, f"inclusion path hash {position}")
    # Step 1: the index must lie inside the tree.
    if not 0 <= index < size:
        raise ProofError(f"leaf {index} is not in a tree of size {size}")
    expected = inclusion_path_length(index, size)
    if len(path) != expected:
        raise ProofError(
            f"inclusion path has {len(path)} hashes; leaf {index} of a tree of size {size} "
            f"needs {expected}"
        )
    # Steps 2 and 3.
    fn, sn, r = index, size - 1, leaf_hash
    # Step 4.
    for p in path:
        if sn == 0:
            raise ProofError("inclusion path is longer than the tree is high")
        if fn & 1 or fn == sn:
            r = hash_children(p, r)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            r = hash_children(r, p)
        fn >>= 1
        sn >>= 1
    # Step 5 (first half): sn must have reached 0.
    if sn != 0:
        raise ProofError("inclusion path is shorter than the tree is high")
    return r


def verify_inclusion(
    index: int, size: int, leaf_hash: bytes, path: Sequence[bytes], root: bytes
) -> None:
    """Check that leaf_hash is leaf index of the tree of that size and root (§2.1.3.2)."""
    _check_hash(root, "the root hash")
    computed = root_from_inclusion_path(index, size, leaf_hash, path)
    # Step 5 (second half): the computed root must equal the expected root.
    if computed != root:
        raise ProofError(
            f"inclusion proof for leaf {index} of a tree of size {size} gives root "
            f"{computed.hex()}, expected {root.hex()}"
        )


def verify_consistency(
    size1: int, size2: int, root1: bytes, root2: bytes, path: Sequence[bytes]
) -> None:
    """Check that the tree (size1, root1) is a prefix of the tree (size2, root2) (§2.1.4.2)."""
    _check_sizes(size1, size2)
    _check_hash(root1, "the first root hash")
    _check_hash(root2, "the second root hash")
    for position, node in enumerate(path):
        _check_hash(node, f"consistency path hash {position}")
    if size1 == 0 or size1 == size2:
        # Outside §2.1.4.2, which assumes 0 < first < second: the proof must be empty.
        if path:
            raise ProofError(f"a consistency proof from size {size1} to {size2} must be empty")
        if size1 == 0 and root1 != EMPTY_ROOT:
            raise ProofError(f"the empty tree's root is {EMPTY_ROOT.hex()}, not {root1.hex()}")
        if size1 == size2 and root1 != root2:
            raise ProofError(f"two trees of size {size1} have different roots")
        return
    expected = consistency_path_length(size1, size2)
    # Step 1: an empty path fails (also covered by the length check).
    if len(path) != expected:
        raise ProofError(
            f"consistency path has {len(path)} hashes; sizes {size1} to {size2} need {expected}"
        )
    nodes = list(path)
    # Step 2: if first is an exact power of 2, prepend first_hash.
    if size1 & (size1 - 1) == 0:
        nodes.insert(0, root1)
    # Step 3.
    fn, sn = size1 - 1, size2 - 1
    # Step 4: right-shift both until LSB(fn) is not set.
    while fn & 1:
        fn >>= 1
        sn >>= 1
    # Step 5.
    fr = sr = nodes[0]
    # Step 6.
    for c in nodes[1:]:
        if sn == 0:
            raise ProofError("consistency path is longer than the tree is high")
        if fn & 1 or fn == sn:
            fr = hash_children(c, fr)
            sr = hash_children(c, sr)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            sr = hash_children(sr, c)
        fn >>= 1
        sn >>= 1
    # Step 7: fr must equal first_hash, sr second_hash, and sn must be 0.
    if sn != 0:
        raise ProofError("consistency path is shorter than the tree is high")
    if fr != root1:
        raise ProofError(
            f"consistency proof gives {fr.hex()} for the tree of size {size1}, "
            f"expected {root1.hex()}"
        )
    if sr != root2:
        raise ProofError(
            f"consistency proof gives {sr.hex()} for the tree of size {size2}, "
            f"expected {root2.hex()}"
        )
