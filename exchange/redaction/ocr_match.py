"""Find names among OCR words, tolerant of OCR noise but not of ordinary words.

Exact after folding (case, accents, punctuation, possessives, 0/O and 1/l confusions, camel case
and letter spacing); fuzzy (one edit, two for long names) only for names of six letters or more,
only where tesseract was itself unsure of the word, and never for a word that is an everyday
name-word. A full name is found exactly across word and line breaks, or fuzzily as consecutive
words. Needles come from the independent checker, so both checks look for the same names.
A single name that a title or role gives to an adult on its line ("Mr Daniel Smith (class
teacher)") is no hit: the text redactor's own rule (`context.adult_by_context`) decides it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from rapidfuzz.distance import Levenshtein

from exchange.redaction.checker import Needle, fold_for_check
from exchange.redaction.context import adult_by_context
from exchange.redaction.names import ORDINARY_WORD_NAMES
from exchange.redaction.ocr import Word

FUZZY_MIN_LETTERS = 6
FUZZY_BELOW_CONFIDENCE = 90.0
LETTER_SPACED_MIN = 3
_LETTERS = re.compile(r"[^\W\d_]+")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")
_CONFUSABLE = str.maketrans({"0": "o", "|": "l"})
# The name in a word, without the punctuation or possessive around it: "(Smith's," -> "Smith".
_CORE = re.compile(r"[^\W_](?:.*?[^\W_])?(?=(?:['\u2019]s)?[^\w]*$)")


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
    return _not_adults(_unique(hits), words)


def line_text(line: list[Word]) -> tuple[str, list[Word]]:
    """Return a line's words joined by spaces and, per character, the word it belongs to."""
    text: list[str] = []
    owners: list[Word] = []
    for word in line:
        if text:
            text.append(" ")
            owners.append(word)
        text.append(word.text)
        owners.extend([word] * len(word.text))
    return "".join(text), owners


def _not_adults(hits: list[OcrHit], words: list[Word]) -> list[OcrHit]:
    """Drop single-name hits that the text redactor's context rule gives to an adult.

    Each line's text is built from its words; a hit is read in that text the way the text
    matcher reads it, words before it counting only after the last name that stays a hit.
    Full names, letter-spaced runs and names inside longer words stay hits, as in the text.
    """
    lines: dict[tuple[int, int, int], list[Word]] = {}
    for word in words:
        lines.setdefault(word.line, []).append(word)
    texts = {key: line_text(line)[0] for key, line in lines.items()}
    starts: dict[int, int] = {}
    for line in lines.values():
        offset = 0
        for word in line:
            starts[id(word)] = offset
            offset += len(word.text) + 1
    spans = [_span(hit, starts) for hit in hits]
    adults: set[int] = set()
    removed_end: dict[tuple[int, int, int], int] = {}
    for index in sorted(range(len(hits)), key=lambda i: _order(spans[i])):
        span = spans[index]
        if span is None:
            continue
        key, start, end = span
        if start is not None and adult_by_context(texts[key], start, end, removed_end.get(key, 0)):
            adults.add(index)
            continue
        removed_end[key] = max(removed_end.get(key, 0), end)
    return [hit for index, hit in enumerate(hits) if index not in adults]


def _span(hit: OcrHit, starts: dict[int, int]) -> tuple | None:
    """Return (line, start, end) of a hit's name letters in its line's text.

    start is None for a hit the context rule does not apply to (several words, or a name
    glued inside a longer word); None for a hit whose words are not on one known line.
    """
    first = hit.words[0]
    if id(first) not in starts:
        return None
    offset = starts[id(first)]
    core = _CORE.search(first.text)
    if len(hit.words) > 1 or core is None or len(parts_of(core.group())) != 1:
        return first.line, None, offset + len(first.text)
    return first.line, offset + core.start(), offset + core.end()


def _order(span: tuple | None) -> tuple:
    if span is None:
        return ((), -1)
    key, start, end = span
    return (key, end if start is None else start)


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
