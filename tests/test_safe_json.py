"""JSON from outside is refused when too large or nested too deep, before json.loads."""

from __future__ import annotations

import pytest

from exchange.errors import ValidationError
from exchange.safe_json import MAX_JSON_DEPTH, JSONTooLarge, json_depth, loads_bounded


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def test_depth_counts_brackets_outside_strings_only() -> None:
    assert json_depth(b'{"a": [1, "[[[{", {"b": "\\"]]"}]}') == 3
    assert json_depth(b'"[[[["') == 0
    assert json_depth(b"1") == 0


def test_the_depth_limit_is_inclusive() -> None:
    assert loads_bounded(nested(MAX_JSON_DEPTH)) is not None
    with pytest.raises(JSONTooLarge, match=f"nests more than {MAX_JSON_DEPTH} levels"):
        loads_bounded(nested(MAX_JSON_DEPTH + 1))


def test_a_document_thousands_deep_is_refused_without_recursion() -> None:
    # That the time grows only linearly with the depth is checked in tests/fuzz/test_fuzz_growth.
    with pytest.raises(ValidationError, match="nests more than"):
        loads_bounded(nested(500_000).encode())


def test_the_size_limit_and_hook() -> None:
    with pytest.raises(JSONTooLarge, match="larger than 10"):
        loads_bounded(b'"0123456789"', max_bytes=10)

    def refuse(pairs: list[tuple[str, object]]) -> dict[str, object]:
        raise ValueError("hook ran")

    with pytest.raises(ValueError, match="hook ran"):
        loads_bounded('{"a": 1}', object_pairs_hook=refuse)
