"""Find name forms in text: whole words, Unicode aware, longest match first."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

from exchange.redaction.fold import Folded, fold
from exchange.redaction.names import Decision, MatchSet, TermGroup

# A word character here is a letter or a digit; underscores and dots separate words.
_BEFORE = r"(?<![^\W_])"
_AFTER = r"(?![^\W_])"
_MIN_INSIDE_WORD = 4


@dataclass(frozen=True)
class Match:
    """One occurrence of a name form in the original text."""

    start: int
    end: int
    group: TermGroup
    decision: Decision
    reasons: tuple[str, ...]


class Matcher:
    """Find every name form of a match set in text."""

    def __init__(self, match_set: MatchSet) -> None:
        self.match_set = match_set

    @cached_property
    def _whole_words(self) -> re.Pattern[str] | None:
        groups = sorted(self.match_set.groups.values(), key=lambda g: (-len(g.key), g.key))
        if not groups:
            return None
        alternatives = "|".join(g.pattern for g in groups)
        return re.compile(f"{_BEFORE}(?:{alternatives}){_AFTER}")

    @cached_property
    def _inside_words(self) -> re.Pattern[str] | None:
        keys = sorted(
            (
                g.key
                for g in self.match_set.groups.values()
                if g.target_ids
                and not g.ordinary_word
                and not g.initials
                and len(g.key) >= _MIN_INSIDE_WORD
            ),
            key=lambda k: (-len(k), k),
        )
        if not keys:
            return None
        return re.compile("|".join(re.escape(k) for k in keys))

    def find(self, text: str) -> list[Match]:
        """Return every hit in text, in order, with its decision (kept hits included)."""
        pattern = self._whole_words
        if pattern is None or not text:
            return []
        folded = fold(text)
        matches: list[Match] = []
        for found in pattern.finditer(folded.text):
            group = self.match_set.group(found.group())
            if group is None:
                continue
            start, end = folded.span(found.start(), found.end(), len(text))
            decision, reasons = group.decide()
            if decision != "kept" and not _case_allows(text[start:end], group):
                continue
            matches.append(Match(start, end, group, decision, reasons))
        matches.extend(self._find_inside_words(text, folded, matches))
        matches.sort(key=lambda m: m.start)
        return matches

    def _find_inside_words(self, text: str, folded: Folded, whole: list[Match]) -> list[Match]:
        pattern = self._inside_words
        if pattern is None:
            return []
        taken = [(m.start, m.end) for m in whole]
        found: list[Match] = []
        for hit in pattern.finditer(folded.text):
            start, end = folded.span(hit.start(), hit.end(), len(text))
            if any(s < end and start < e for s, e in taken):
                continue
            if not _glued(text, start, end):
                continue
            group = self.match_set.group(hit.group())
            if group is None:
                continue
            found.append(Match(start, end, group, "needs_review", ("inside_longer_word",)))
            taken.append((start, end))
        return found


def _case_allows(original: str, group: TermGroup) -> bool:
    """Say whether the original spelling can be this name (initials and everyday words)."""
    letters = [c for c in original if c.isalpha()]
    if group.initials:
        return all(c.isupper() for c in letters)
    if group.ordinary_word and "full" not in group.forms:
        return bool(letters) and letters[0].isupper()
    return True


def _glued(text: str, start: int, end: int) -> bool:
    """Say whether a name inside a longer word sits at a visible join (camel case or digits)."""
    before = text[start - 1] if start > 0 else ""
    after = text[end] if end < len(text) else ""
    first, last = text[start], text[end - 1]
    joins_before = bool(before) and (
        before.isdigit() or (before.isalpha() and before.islower() and first.isupper())
    )
    joins_after = bool(after) and (
        after.isdigit() or (after.isalpha() and after.isupper() and last.islower())
    )
    clean_before = not before or not before.isalnum()
    clean_after = not after or not after.isalnum()
    return (joins_before and (clean_after or joins_after)) or (joins_after and clean_before)
