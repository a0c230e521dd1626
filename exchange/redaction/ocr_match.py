"""Find names among OCR words, tolerant of OCR noise but not of ordinary words.

Exact after folding (case, accents, punctuation, possessives, 0/O and 1/l confusions, camel case
and letter spacing); fuzzy (one edit, two for long names) only for names of six letters or more,
only where tesseract was itself unsure of the word, and never for a word that is an everyday
name-word. A full name is found exactly across word and line breaks, or fuzzily as consecutive
words. Needles come from the independent checker, so both checks look for the same names.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from rapidfuzz.distance import Levenshtein

from exchange.redaction.checker import Needle, fold_for_check
from exchange.redaction.names import ORDINARY_WORD_NAMES
from exchange.redaction.ocr import Word

FUZZY_MIN_LETTERS = 6
FUZZY_BELOW_CONFIDENCE = 90.0
LETTER_SPACED_MIN = 3
_LETTERS = re.compile(r"[^\W\d_]+")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")
_CONFUSABLE = str.maketrans({"0": "o", "|": "l"})


@dataclass(frozen=True)
class OcrHit:
    """A name seen by OCR: whose, on which page, in which words, and whether fuzzily."""

    person_id: str
    page: int
    words: tuple[Word, ...]
    fuzzy: bool

    @property
    def box(self) -> tuple[int, int, int, int]:
        """Return the pixel box (left, top, right, bottom) around the words of the hit."""
        return (
            min(w.left for w in self.words),
            min(w.top for w in self.words),
            max(w.left + w.width for w in self.words),
            max(w.top + w.height for w in self.words),
        )


@dataclass(frozen=True)
class _Token:
    text: str
    words: tuple[Word, ...]
    confidence: float


def parts_of(text: str, one: str = "l") -> list[str]:
    """Return the folded letter runs of an OCR word, split at camel case and punctuation."""
    text = _CAMEL.sub(" ", text).translate(_CONFUSABLE).replace("1", one)
    return _LETTERS.findall(fold_for_check(text))


def tokens(words: list[Word]) -> list[_Token]:
    """Return a page's tokens in reading order, letter-spaced runs joined into one token."""
    result: list[_Token] = []
    run: list[Word] = []

    def close_run() -> None:
        if len(run) >= LETTER_SPACED_MIN:
            joined = "".join(p for w in run for p in parts_of(w.text))
            result.append(_Token(joined, tuple(run), min(w.confidence for w in run)))
        run.clear()

    previous_line: tuple[int, int, int] | None = None
    for word in words:
        parts = parts_of(word.text)
        if word.line != previous_line:
            close_run()
            previous_line = word.line
        if len(parts) == 1 and len(parts[0]) == 1:
            run.append(word)
        else:
            close_run()
        for part in parts:
            result.append(_Token(part, (word,), word.confidence))
        if "1" in word.text:  # OCR reads a 1 for an l or an i: try the other too.
            for part in parts_of(word.text, one="i"):
                result.append(_Token(part, (word,), word.confidence))
    close_run()
    return result


def find_names(words: list[Word], needles: Iterable[Needle], page: int) -> list[OcrHit]:
    """Return every needle seen among one page's OCR words."""
    found = tokens(words)
    hits: list[OcrHit] = []
    for needle in needles:
        if len(needle.words) == 1:
            hits.extend(_single(found, needle, page))
        else:
            hits.extend(_full(found, needle, page))
    return _unique(hits)


def _close(token: _Token, name: str, *, sure_words_too: bool) -> bool:
    """Say whether a token is the name misread by at most a light edit."""
    if len(name) < FUZZY_MIN_LETTERS or token.text in ORDINARY_WORD_NAMES:
        return False
    if not sure_words_too and token.confidence >= FUZZY_BELOW_CONFIDENCE:
        return False
    allowed = 2 if len(name) >= 10 else 1
    return Levenshtein.distance(token.text, name, score_cutoff=allowed) <= allowed


def _single(found: list[_Token], needle: Needle, page: int) -> Iterable[OcrHit]:
    name = needle.words[0]
    for token in found:
        if token.text == name:
            yield OcrHit(needle.person_id, page, token.words, fuzzy=False)
        elif _close(token, name, sure_words_too=False):
            yield OcrHit(needle.person_id, page, token.words, fuzzy=True)


def _full(found: list[_Token], needle: Needle, page: int) -> Iterable[OcrHit]:
    # Exactly, across any word or line break: search the page's letters joined up.
    letters = "".join(t.text for t in found)
    owner: list[int] = [i for i, t in enumerate(found) for _ in t.text]
    start = letters.find(needle.letters)
    while start >= 0:
        span = found[owner[start] : owner[start + len(needle.letters) - 1] + 1]
        yield OcrHit(needle.person_id, page, _words_of(span), fuzzy=False)
        start = letters.find(needle.letters, start + 1)
    # Fuzzily, as consecutive tokens: two names side by side are evidence enough.
    size = len(needle.words)
    for index in range(len(found) - size + 1):
        window = found[index : index + size]
        if all(
            t.text == part or _close(t, part, sure_words_too=True)
            for t, part in zip(window, needle.words, strict=True)
        ):
            yield OcrHit(needle.person_id, page, _words_of(window), fuzzy=True)


def _words_of(tokens_: list[_Token]) -> tuple[Word, ...]:
    return tuple(dict.fromkeys(w for t in tokens_ for w in t.words))


def _unique(hits: list[OcrHit]) -> list[OcrHit]:
    seen: dict[tuple[str, tuple[int, int, int, int]], OcrHit] = {}
    for hit in hits:
        key = (hit.person_id, hit.box)
        if key not in seen or (seen[key].fuzzy and not hit.fuzzy):
            seen[key] = hit
    return list(seen.values())
