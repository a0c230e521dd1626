"""Parse JSON from outside with a size and nesting-depth limit checked before json.loads."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from exchange.errors import ValidationError

MAX_JSON_DEPTH = 64  # Our documents nest at most a handful of levels.
MAX_JSON_BYTES = 1024 * 1024  # Headers, manifests, messages and cards are all far smaller.
_OPEN = frozenset(b"[{")
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)


class JSONTooLarge(ValidationError):
    """A JSON document is larger or nested deeper than allowed."""


def loads_bounded(
    data: bytes | str,
    *,
    max_depth: int = MAX_JSON_DEPTH,
    max_bytes: int = MAX_JSON_BYTES,
    object_pairs_hook: Callable[[list[tuple[str, Any]]], Any] | None = None,
) -> Any:
    """Return json.loads(data) after refusing documents too large or nested too deep."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else bytes(data)
    if len(raw) > max_bytes:
        raise JSONTooLarge(f"JSON document of {len(raw)} bytes is larger than {max_bytes}")
    if json_depth(raw, stop_above=max_depth) > max_depth:
        raise JSONTooLarge(f"JSON document nests more than {max_depth} levels deep")
    return json.loads(data, object_pairs_hook=object_pairs_hook)


def json_depth(raw: bytes, stop_above: int | None = None) -> int:
    """Return the deepest nesting of arrays and objects, counting brackets outside strings."""
    # Strings are removed with one regular expression (no recursion); what is left is
    # scanned bracket by bracket. Scanning stops once the depth passes stop_above.
    brackets = _STRING.sub(b"", raw).translate(None, _NOT_BRACKETS)
    depth = deepest = 0
    for byte in brackets:
        if byte in _OPEN:
            depth += 1
            if depth > deepest:
                deepest = depth
                if stop_above is not None and depth > stop_above:
                    break
        else:
            depth -= 1
    return deepest
