"""Check exchange.audit.merkle against a reference written here from the RFC 9162 text alone.

The reference below is deliberately naive: the recursive definitions of MTH (§2.1.1),
PATH (§2.1.3.1) and PROOF/SUBPROOF (§2.1.4.1) over lists of leaf data, and the two
verification algorithms (§2.1.3.2, §2.1.4.2) transcribed step by step. It shares no code
with the implementation under test.
"""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exchange.audit import merkle
from exchange.audit.errors import ProofError

# ---- Reference implementation, from RFC 9162 only ----------------------------------------


def ref_hash(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def ref_k(n: int) -> int:
    """Largest power of two smaller than n (n > 1)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def ref_mth(d: list[bytes]) -> bytes:
    """MTH(D[n]) of §2.1.1."""
    n = len(d)
    if n == 0:
        return ref_hash(b"")
    if n == 1:
        return ref_hash(b"\x00" + d[0])
    k = ref_k(n)
    return ref_hash(b"\x01" + ref_mth(d[:k]) + ref_mth(d[k:n]))


def ref_path(m: int, d: list[bytes]) -> list[bytes]:
    """PATH(m, D[n]) of §2.1.3.1."""
    n = len(d)
    if n == 1:
        return []
    k = ref_k(n)
    if m < k:
        return [*ref_path(m, d[:k]), ref_mth(d[k:n])]
    return [*ref_path(m - k, d[k:n]), ref_mth(d[:k])]


def ref_subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    """SUBPROOF(m, D[n], b) of §2.1.4.1."""
    n = len(d)
    if m == n:
        return [] if b else [ref_mth(d)]
    k = ref_k(n)
    if m <= k:
        return [*ref_subproof(m, d[:k], b), ref_mth(d[k:n])]
    return [*ref_subproof(m - k, d[k:n], False), ref_mth(d[:k])]


def ref_proof(m: int, d: list[bytes]) -> list[bytes]:
    """PROOF(m, D[n]) of §2.1.4.1."""
    return ref_subproof(m, d, True)


def ref_verify_inclusion(
    leaf_index: int, tree_size: int, h: bytes, path: list[bytes], root: bytes
) -> bool:
    """§2.1.3.2, step by step."""
    if leaf_index >= tree_size:
        return False
    fn, sn, r = leaf_index, tree_size - 1, h
    for p in path:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            r = ref_hash(b"\x01" + p + r)
            if fn % 2 == 0:
                while fn % 2 == 0 and fn != 0:
                    fn //= 2
                    sn //= 2
        else:
            r = ref_hash(b"\x01" + r + p)
        fn //= 2
        sn //= 2
    return sn == 0 and r == root


def ref_verify_consistency(
    first: int, second: int, first_hash: bytes, second_hash: bytes, path: list[bytes]
) -> bool:
    """§2.1.4.2, step by step (for 0 < first < second)."""
    if not path:
        return False
    path = list(path)
    if first & (first - 1) == 0:
        path = [first_hash, *path]
    fn, sn = first - 1, second - 1
    while fn % 2 == 1:
        fn //= 2
        sn //= 2
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            fr = ref_hash(b"\x01" + c + fr)
            sr = ref_hash(b"\x01" + c + sr)
            if fn % 2 == 0:
                while fn % 2 == 0 and fn != 0:
                    fn //= 2
                    sn //= 2
        else:
            sr = ref_hash(b"\x01" + sr + c)
        fn //= 2
        sn //= 2
    return fr == first_hash and sr == second_hash and sn == 0


# ---- Helpers -----------------------------------------------------------------------------


def leaf_data(n: int) -> list[bytes]:
    return [f"entry {i}".encode() * (i % 3 + 1) for i in range(n)]


class Log:
    """The implementation under test over one list of leaves, with both subtree sources."""

    def __init__(self, data: list[bytes]) -> None:
        self.leaves = [merkle.hash_leaf(x) for x in data]
        self.frontiers = [merkle.Frontier()]
        for leaf in self.leaves:
            frontier = self.frontiers[-1].copy()
            frontier.append(leaf)
            self.frontiers.append(frontier)
        self.from_leaves = merkle.subtrees_from_leaves(self.leaves)
        self.from_frontiers = merkle.subtrees_from_frontiers(
            self.frontiers.__getitem__, self.leaves.__getitem__
        )


def check_size(data: list[bytes]) -> None:
    n = len(data)
    log = Log(data)
    root = ref_mth(data)
    assert merkle.root_of(log.leaves) == root
    assert log.frontiers[n].root() == root
    for index in range(n):
        expected = ref_path(index, data)
        assert merkle.inclusion_path(index, n, log.from_leaves) == expected
        assert merkle.inclusion_path(index, n, log.from_frontiers) == expected
        assert merkle.inclusion_path_length(index, n) == len(expected)
        merkle.verify_inclusion(index, n, log.leaves[index], expected, root)
        assert ref_verify_inclusion(index, n, log.leaves[index], expected, root)
    for m in range(1, n):
        expected = ref_proof(m, data)
        assert merkle.consistency_path(m, n, log.from_leaves) == expected
        assert merkle.consistency_path(m, n, log.from_frontiers) == expected
        assert merkle.consistency_path_length(m, n) == len(expected)
        merkle.verify_consistency(m, n, ref_mth(data[:m]), root, expected)
        assert ref_verify_consistency(m, n, ref_mth(data[:m]), root, expected)


# ---- Tests -------------------------------------------------------------------------------


def test_empty_tree_root_is_sha256_of_nothing() -> None:
    assert merkle.root_of([]) == ref_mth([]) == hashlib.sha256(b"").digest()
    assert merkle.Frontier().root().hex().startswith("e3b0c442")


@pytest.mark.parametrize("n", range(1, 65))
def test_matches_reference_for_every_size_up_to_64(n: int) -> None:
    check_size(leaf_data(n))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.binary(max_size=8), min_size=65, max_size=300))
def test_matches_reference_for_random_sizes(data: list[bytes]) -> None:
    n = len(data)
    log = Log(data)
    root = ref_mth(data)
    assert log.frontiers[n].root() == root
    for index in {0, n // 3, n // 2, n - 1}:
        assert merkle.inclusion_path(index, n, log.from_frontiers) == ref_path(index, data)
    for m in {1, n // 3, n // 2, n - 1}:
        assert merkle.consistency_path(m, n, log.from_frontiers) == ref_proof(m, data)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_proofs_round_trip_and_reference_accepts_them(data: st.DataObject) -> None:
    n = data.draw(st.integers(min_value=1, max_value=200), label="size")
    index = data.draw(st.integers(min_value=0, max_value=n - 1), label="index")
    m = data.draw(st.integers(min_value=1, max_value=n), label="old size")
    leaves = leaf_data(n)
    log = Log(leaves)
    root = log.frontiers[n].root()
    path = merkle.inclusion_path(index, n, log.from_frontiers)
    merkle.verify_inclusion(index, n, log.leaves[index], path, root)
    assert ref_verify_inclusion(index, n, log.leaves[index], path, root)
    proof = merkle.consistency_path(m, n, log.from_frontiers)
    old_root = log.frontiers[m].root()
    merkle.verify_consistency(m, n, old_root, root, proof)
    if m < n:
        assert ref_verify_consistency(m, n, old_root, root, proof)


def inclusion_tamperings(
    index: int, size: int, leaf: bytes, path: list[bytes], root: bytes
) -> list[tuple[str, tuple[int, int, bytes, list[bytes], bytes]]]:
    other = hashlib.sha256(b"other").digest()
    cases = [
        ("index + 1", (index + 1, size, leaf, path, root)),
        ("index - 1", (index - 1, size, leaf, path, root)),
        ("index ^ 2", (index ^ 2, size, leaf, path, root)),
        ("size * 2", (index, size * 2, leaf, path, root)),
        ("size / 2", (index, size // 2, leaf, path, root)),
        ("wrong leaf", (index, size, other, path, root)),
        ("wrong root", (index, size, leaf, path, other)),
        ("empty-tree root", (index, size, leaf, path, merkle.EMPTY_ROOT)),
        ("trailing hash", (index, size, leaf, [*path, root], root)),
        ("leading hash", (index, size, leaf, [root, *path], root)),
        ("short hash", (index, size, leaf, [*path, b""], root)),
    ]
    for position in range(len(path)):
        flipped = bytearray(path[position])
        flipped[0] ^= 8
        changed = list(path)
        changed[position] = bytes(flipped)
        cases.append((f"bit flip in path[{position}]", (index, size, leaf, changed, root)))
    if path:
        cases.append(("removed hash", (index, size, leaf, path[:-1], root)))
    if len(path) > 1:
        cases.append(("swapped hashes", (index, size, leaf, [path[1], path[0], *path[2:]], root)))
    return [(name, case) for name, case in cases if case[0] >= 0 and case[1] >= 0]


@pytest.mark.parametrize(("index", "size"), [(0, 1), (0, 8), (5, 8), (2, 3), (1, 5), (12, 13)])
def test_inclusion_verification_fails_on_any_tampering(index: int, size: int) -> None:
    log = Log(leaf_data(size))
    root = log.frontiers[size].root()
    path = merkle.inclusion_path(index, size, log.from_frontiers)
    for name, case in inclusion_tamperings(index, size, log.leaves[index], path, root):
        if (case[0], case[1]) == (index, size) and case[2:] == (log.leaves[index], path, root):
            continue
        with pytest.raises(ProofError):
            merkle.verify_inclusion(*case)
        assert not ref_verify_inclusion(*case), name


@pytest.mark.parametrize(("size1", "size2"), [(1, 8), (6, 8), (2, 5), (6, 7), (3, 13), (4, 9)])
def test_consistency_verification_fails_on_any_tampering(size1: int, size2: int) -> None:
    log = Log(leaf_data(size2 * 2))
    root1, root2 = log.frontiers[size1].root(), log.frontiers[size2].root()
    path = merkle.consistency_path(size1, size2, log.from_frontiers)
    merkle.verify_consistency(size1, size2, root1, root2, path)
    other = hashlib.sha256(b"other").digest()
    cases = [
        (size1 - 1, size2, root1, root2, path),
        (size1 + 1, size2, root1, root2, path),
        (size1 ^ 2, size2, root1, root2, path),
        (size1, size2 * 2, root1, root2, path),
        (size1, size2 // 2, root1, root2, path),
        (size1, size2, other, root2, path),
        (size1, size2, root1, other, path),
        (size1, size2, root2, root1, path),
        (size1, size2, root1, root2, []),
        (size1, size2, root1, root2, [*path, root1]),
        (size1, size2, root1, root2, [root2, *path]),
        (size1, size2, root1, root2, [path[0], *path]),
        (size1, size2, root1, root2, path[:-1]),
    ]
    for position in range(len(path)):
        flipped = bytearray(path[position])
        flipped[0] ^= 16
        cases.append(
            (size1, size2, root1, root2, [*path[:position], bytes(flipped), *path[position + 1 :]])
        )
    for case in cases:
        if case == (size1, size2, root1, root2, path):
            continue
        with pytest.raises(ProofError):
            merkle.verify_consistency(*case)


def test_degenerate_consistency_cases() -> None:
    log = Log(leaf_data(5))
    root = log.frontiers[5].root()
    merkle.verify_consistency(5, 5, root, root, [])
    merkle.verify_consistency(0, 5, merkle.EMPTY_ROOT, root, [])
    with pytest.raises(ProofError, match="must be empty"):
        merkle.verify_consistency(5, 5, root, root, [root])
    with pytest.raises(ProofError, match="different roots"):
        merkle.verify_consistency(5, 5, root, merkle.EMPTY_ROOT, [])
    with pytest.raises(ProofError, match="empty tree"):
        merkle.verify_consistency(0, 5, root, root, [])
    with pytest.raises(ProofError, match="larger than"):
        merkle.verify_consistency(6, 5, root, root, [])
    with pytest.raises(ProofError, match="not in a tree"):
        merkle.verify_inclusion(5, 5, log.leaves[0], [], root)
    with pytest.raises(ProofError, match="not in a tree"):
        merkle.inclusion_path(0, 0, log.from_leaves)


def test_error_messages_are_precise() -> None:
    log = Log(leaf_data(8))
    root = log.frontiers[8].root()
    path = merkle.inclusion_path(5, 8, log.from_leaves)
    with pytest.raises(ProofError, match="has 2 hashes; leaf 5 of a tree of size 8 needs 3"):
        merkle.verify_inclusion(5, 8, log.leaves[5], path[:2], root)
    with pytest.raises(ProofError, match=f"expected {merkle.EMPTY_ROOT.hex()}"):
        merkle.verify_inclusion(5, 8, log.leaves[5], path, merkle.EMPTY_ROOT)


def test_frontier_serialisation_round_trips() -> None:
    log = Log(leaf_data(13))
    for frontier in log.frontiers:
        assert merkle.Frontier.from_bytes(frontier.to_bytes()) == frontier
        assert merkle.Frontier.from_json(frontier.to_json()) == frontier
    assert len(log.frontiers[13].to_bytes()) == 1 + 8 + 3 * 32


@pytest.mark.parametrize(
    "data",
    [b"", b"\x02" + bytes(8), b"\x01" + (3).to_bytes(8, "big") + bytes(32), b"\x01" + bytes(7)],
)
def test_frontier_refuses_malformed_bytes(data: bytes) -> None:
    with pytest.raises(ValueError, match="frontier"):
        merkle.Frontier.from_bytes(data)


def test_frontier_hashes_from_refuses_a_non_boundary() -> None:
    log = Log(leaf_data(6))
    assert log.frontiers[6].hashes_from(4) == log.frontiers[6].hashes[1:]
    with pytest.raises(ValueError, match="not a subtree boundary"):
        log.frontiers[6].hashes_from(2)
