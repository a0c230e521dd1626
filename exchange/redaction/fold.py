"""Fold text for matching while keeping a map back to the original offsets."""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left
from dataclasses import dataclass

# Apostrophes and hyphens that people and word processors type interchangeably.
_APOSTROPHES = dict.fromkeys(map(ord, "\u2019\u2018\u02bc\u0060\u00b4\u2032"), "'")
_HYPHENS = dict.fromkeys(map(ord, "\u2010\u2011\u2012\u2013\u2014\u2212"), "-")
_TRANSLATE = {**_APOSTROPHES, **_HYPHENS}

# Invisible characters that split a word without showing: soft hyphen, zero-width space and
# joiners, word joiner, byte order mark. They are dropped before matching.
INVISIBLE = "\u00ad\u200b\u200c\u200d\u2060\ufeff"
_SPACES = "[ \\t\u00a0\u2009]"
# A hyphen at the end of a line between two letters is a layout break, not part of a word.
_LINE_BREAK_HYPHEN = re.compile(
    rf"(?<=[^\W\d_])[{INVISIBLE}]*[-\u2010\u00ad][{INVISIBLE}]*{_SPACES}*\r?\n{_SPACES}*"
    rf"(?=[^\W\d_])"
)
# Letter spacing: three or more single letters with the same run of spaces between each
# ("S m i t h", or the thin gaps the PDF reader puts between letter-spaced glyphs).
_LETTER_SPACED = re.compile(
    rf"(?<![^\W_])(?<![{INVISIBLE}])[^\W\d_](?P<gap>[ \u00a0\u2009]{{1,3}})[^\W\d_]"
    rf"(?:(?P=gap)[^\W\d_])+(?![^\W_])(?![{INVISIBLE}])"
)
_INVISIBLE_RUN = re.compile(f"[{INVISIBLE}]+")


@dataclass(frozen=True)
class Folded:
    """Hold folded text and, for each of its characters, the original offset."""

    text: str
    origin: list[int] | None  # None means the identity map (same length, same offsets).
    # Folded spans of letter-spaced runs that were closed up: word breaks inside them are lost.
    runs: tuple[tuple[int, int], ...] = ()

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
    """Fold text for matching: casefold, strip accents, unify apostrophes, join hyphenation,
    drop invisible characters and close up letter spacing."""
    skips, spaced = _skipped(text)
    if not skips:
        if text.isascii():
            return Folded(text.lower(), None)
        table = _one_to_one(text)
        if table is not None:
            return Folded(text.translate(table).lower(), None)
    pieces: list[str] = []
    origin: list[int] = []
    index = 0
    length = len(text)
    # Fold the stretches between skipped runs whole: ASCII at once, the rest char by char.
    for start in sorted(skips):
        if start < index:
            continue  # Inside a run already skipped.
        _fold_stretch(text, index, start, pieces, origin)
        index = skips[start]
    _fold_stretch(text, index, length, pieces, origin)
    origin.append(length)
    runs = tuple((bisect_left(origin, a), bisect_left(origin, b)) for a, b in spaced)
    return Folded("".join(pieces), origin, runs)


def _fold_stretch(text: str, start: int, end: int, pieces: list[str], origin: list[int]) -> None:
    """Append the folded characters of text[start:end] and each one's original offset."""
    stretch = text[start:end]
    if stretch.isascii():
        pieces.append(stretch.lower())
        origin.extend(range(start, end))
        return
    for index in range(start, end):
        char = text[index]
        folded = char.lower() if char.isascii() else fold_char(char)
        pieces.append(folded)
        origin.extend([index] * len(folded))


def _one_to_one(text: str) -> dict[int, str] | None:
    """Return a translation folding each non-ASCII character of text to one character, or
    None when some character folds to more or fewer (ß, ﬁ, combining marks)."""
    table: dict[int, str] = {}
    for char in set(text):
        if char.isascii():
            continue
        folded = fold_char(char)
        if len(folded) != 1:
            return None
        table[ord(char)] = folded
    return table


def _skipped(text: str) -> tuple[dict[int, int], list[tuple[int, int]]]:
    """Return start -> end of every run of characters that matching skips, and the spans of
    the letter-spaced runs closed up."""
    skips: dict[int, int] = {}
    spaced: list[tuple[int, int]] = []
    if not text.isascii():
        skips.update((m.start(), m.end()) for m in _INVISIBLE_RUN.finditer(text))
    if "\n" in text and ("-" in text or "\u2010" in text or "\u00ad" in text):
        for m in _LINE_BREAK_HYPHEN.finditer(text):
            if m.end() > m.start():
                skips[m.start()] = m.end()
    if " " in text or "\u2009" in text or "\u00a0" in text:
        for m in _LETTER_SPACED.finditer(text):
            gap = len(m.group("gap"))
            for start in range(m.start() + 1, m.end() - 1, gap + 1):
                skips[start] = start + gap
            spaced.append((m.start(), m.end()))
    return skips, spaced
