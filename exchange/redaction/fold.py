"""Fold text for matching while keeping a map back to the original offsets."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Apostrophes and hyphens that people and word processors type interchangeably.
_APOSTROPHES = dict.fromkeys(map(ord, "\u2019\u2018\u02bc\u0060\u00b4\u2032"), "'")
_HYPHENS = dict.fromkeys(map(ord, "\u2010\u2011\u2012\u2013\u2014\u2212\u00ad"), "-")
_TRANSLATE = {**_APOSTROPHES, **_HYPHENS}

# A hyphen at the end of a line between two letters is a layout break, not part of a word.
_LINE_BREAK_HYPHEN = re.compile(r"(?<=[^\W\d_])[-\u2010\u00ad][ \t]*\r?\n[ \t]*(?=[^\W\d_])")


@dataclass(frozen=True)
class Folded:
    """Hold folded text and, for each of its characters, the original offset."""

    text: str
    origin: list[int] | None  # None means the identity map (same length, same offsets).

    def span(self, start: int, end: int, original_length: int) -> tuple[int, int]:
        """Map a folded span back to a span of the original text."""
        if self.origin is None:
            return start, end
        del original_length  # The map already ends with the original length.
        return self.origin[start], self.origin[end]


def fold_char(char: str) -> str:
    """Return the accent-free, case-folded form of one character."""
    char = char.translate(_TRANSLATE)
    decomposed = unicodedata.normalize("NFKD", char)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return stripped.casefold()


def fold_word(word: str) -> str:
    """Return the accent-free, case-folded form of a name or word."""
    return "".join(fold_char(c) for c in word)


def fold(text: str) -> Folded:
    """Fold text for matching: casefold, strip accents, unify apostrophes, join hyphenation."""
    if text.isascii() and "-\n" not in text and "-\r\n" not in text:
        return Folded(text.lower(), None)
    pieces: list[str] = []
    origin: list[int] = []
    skip_until = -1
    breaks = {m.start(): m.end() for m in _LINE_BREAK_HYPHEN.finditer(text)}
    for index, char in enumerate(text):
        if index < skip_until:
            continue
        if index in breaks:
            skip_until = breaks[index]
            continue
        folded = char.lower() if char.isascii() else fold_char(char)
        pieces.append(folded)
        origin.extend([index] * len(folded))
    origin.append(len(text))
    return Folded("".join(pieces), origin)
