"""Find name forms in text: whole words, Unicode aware, longest match first."""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass, replace
from functools import cached_property

from exchange.redaction.context import adult_by_context, widen
from exchange.redaction.fold import Folded, fold, fold_word
from exchange.redaction.names import Decision, MatchSet, TermGroup

# A word character here is a letter or a digit; underscores and dots separate words.
_BEFORE = r"(?<![^\W_])"
_AFTER = r"(?![^\W_])"
_MIN_INSIDE_WORD = 4
# What the PDF reader shows for a glyph whose text is unknown.
UNMAPPED = "\ufffd"
_SEPARATOR = r"[\s._'\-]*"
# A join inside a word: letter then digit, digit then letter, or lower case then capital
# (camel case is looked for in Latin-1 letters, which covers the names on an English roll).
_JOIN = re.compile(
    r"[^\W\d_](?=\d)|\d(?=[^\W\d_])|[a-z\u00df-\u00f6\u00f8-\u00ff](?=[A-Z\u00c0-\u00d6\u00d8-\u00de])"
)


_SPACE = re.compile(r"\s")  # The characters str.isspace() accepts, for str patterns.
_UNSEEN = object()  # A hit whose group is not looked up yet (None is a valid answer).

# The second character of every _JOIN match, or its first (a digit before a letter).
_JOIN_NEAR = re.compile(r"[\dA-Z\u00c0-\u00d6\u00d8-\u00de]")


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
        self._initials_of: dict[str, tuple[str, str]] = {}
        # Worked out once per group: the match set does not change under a matcher.
        self._decisions: dict[str, tuple[Decision, tuple[str, ...]]] = {}
        self._forms: dict[str, tuple[str, ...]] = {}
        self._groups: dict[str, TermGroup | None] = {}  # Folded hit -> its group.
        self._targets: dict[str, tuple[str, ...]] = {}

    @cached_property
    def _whole_words(self) -> re.Pattern[str] | None:
        groups = sorted(self.match_set.groups.values(), key=lambda g: (-len(g.key), g.key))
        if not groups:
            return None
        # One trie-shaped pattern: the regex engine walks the names letter by letter instead of
        # trying each of thousands of alternatives at every position.
        names = [_fragments(g.folded) for g in groups if g.folded and not g.initials]
        others = [g.pattern for g in groups if not g.folded or g.initials]
        alternatives = "|".join(p for p in (_trie_pattern(names), *others) if p)
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

    @cached_property
    def _wildcards(self) -> tuple[re.Pattern[str], list[TermGroup]] | None:
        """Return a pattern where any letter may be an unmapped glyph (U+FFFD), by group."""
        groups = [
            g
            for g in sorted(self.match_set.groups.values(), key=lambda g: (-len(g.key), g.key))
            if g.target_ids and g.folded and not g.initials and len(g.key) >= 3
        ]
        if not groups:
            return None
        alternatives = "|".join(
            f"(?P<g{index}>{_wild_pattern(group.folded)})" for index, group in enumerate(groups)
        )
        return re.compile(f"{_BEFORE}(?:{alternatives}){_AFTER}"), groups

    def find(self, text: str) -> list[Match]:
        """Return every hit in text, in order, with its decision (kept hits included)."""
        pattern = self._whole_words
        if pattern is None or not text:
            return []
        folded = fold(text)
        matches: list[Match] = []
        removed_end = 0
        groups = self._groups
        for found in pattern.finditer(folded.text):
            hit = found.group()
            group = groups.get(hit, _UNSEEN)
            if group is _UNSEEN:
                group = groups[hit] = self.match_set.group(hit)
            if group is None:
                continue
            start, end = folded.span(found.start(), found.end(), len(text))
            decision, reasons = self._decide(group)
            if decision != "kept":
                forms = self.forms_of(group)
                if not _case_allows(text[start:end], group, forms):
                    continue
                decision, reasons = self._in_context(
                    text, (start, end, removed_end), forms, decision, reasons
                )
                if decision != "kept":
                    start, end = widen(text, start, end, self._initials(group))
                    removed_end = end
            matches.append(Match(start, end, group, decision, reasons))
        matches.extend(self._find_inside_words(text, folded, matches))
        if folded.runs:
            matches.extend(self._find_in_spaced_runs(text, folded, matches))
        if UNMAPPED in folded.text:
            matches = self._find_unmapped(text, folded, matches)
        matches.sort(key=lambda m: (m.start, -m.end))
        return _merged(text, matches)

    def target_ids(self, group: TermGroup) -> tuple[str, ...]:
        """Return a group's target ids, worked out once."""
        found = self._targets.get(group.key)
        if found is None:
            found = self._targets[group.key] = group.target_ids
        return found

    def _decide(self, group: TermGroup) -> tuple[Decision, tuple[str, ...]]:
        """Return a group's decision and reasons, worked out once."""
        found = self._decisions.get(group.key)
        if found is None:
            found = self._decisions[group.key] = group.decide()
        return found

    def forms_of(self, group: TermGroup) -> tuple[str, ...]:
        """Return a group's forms, worked out once."""
        found = self._forms.get(group.key)
        if found is None:
            found = self._forms[group.key] = group.forms
        return found

    @staticmethod
    def _in_context(
        text: str,
        span: tuple[int, int, int],
        forms: tuple[str, ...],
        decision: Decision,
        reasons: tuple,
    ) -> tuple[Decision, tuple[str, ...]]:
        """Keep a single name that a title or role gives to an adult (a full name stays a hit).

        span is (start, end, end of the last name removed before it); forms are the group's.
        """
        start, end, free_from = span
        if "full" in forms or _SPACE.search(text, start, end):
            return decision, reasons  # A full name or letter-spaced name is removed anyway.
        adult = adult_by_context(text, start, end, free_from)
        if adult is None:
            return decision, reasons
        return "kept", (f"adult_by_{adult}",)

    def _initials(self, group: TermGroup) -> tuple[str, str]:
        """Return the initials that may stand beside this form: (forename's, surname's)."""
        cached = self._initials_of.get(group.key)
        if cached is None:
            cached = self._initials_of[group.key] = self._initials_for(group)
        return cached

    def _initials_for(self, group: TermGroup) -> tuple[str, str]:
        people = [self.match_set.people[pid] for pid in group.target_ids]
        form = group.forms[0]
        if form == "surname":
            return next((fold_word(p.forename)[:1] for p in people if p.forename), ""), ""
        if form in ("forename", "diminutive"):
            return "", next((fold_word(p.surname)[:1] for p in people if p.surname), "")
        return "", ""

    def _find_in_spaced_runs(self, text: str, folded: Folded, found: list[Match]) -> list[Match]:
        """Find names anywhere in closed-up letter spacing, whose word breaks are unknown."""
        pattern = self._inside_words
        if pattern is None:
            return []
        taken = [(m.start, m.end) for m in found]
        hits: list[Match] = []
        for run_start, run_end in folded.runs:
            for hit in pattern.finditer(folded.text, run_start, run_end):
                start, end = folded.span(hit.start(), hit.end(), len(text))
                if any(s < end and start < e for s, e in taken):
                    continue
                group = self.match_set.group(hit.group())
                if group is None:
                    continue
                decision, reasons = self._decide(group)
                hits.append(Match(start, end, group, decision, (*reasons, "letter_spaced")))
                taken.append((start, end))
        return hits

    def _find_unmapped(self, text: str, folded: Folded, found: list[Match]) -> list[Match]:
        """Add names in which some glyphs have no known text (most letters still known)."""
        compiled = self._wildcards
        if compiled is None:
            return found
        pattern, groups = compiled
        hits = list(found)
        for hit in pattern.finditer(folded.text):
            letters = [c for c in hit.group() if c.isalpha() or c == UNMAPPED]
            unknown = letters.count(UNMAPPED)
            if not unknown or unknown * 2 > len(letters):
                continue
            start, end = folded.span(hit.start(), hit.end(), len(text))
            inside = [m for m in hits if m.start < end and start < m.end]
            if any(m.start < start or m.end > end for m in inside):
                continue  # Overlaps a hit it does not contain: keep the known one.
            group = groups[int(str(hit.lastgroup)[1:])]
            decision, reasons = self._decide(group)
            if decision == "kept":
                continue
            hits = [m for m in hits if m not in inside]
            hits.append(Match(start, end, group, decision, (*reasons, "unmapped_glyphs")))
        return hits

    def _find_inside_words(self, text: str, folded: Folded, whole: list[Match]) -> list[Match]:
        """Find names glued to another word at a camel-case or digit join, for review."""
        pattern = self._inside_words
        if pattern is None:
            return []
        taken = [(m.start, m.end) for m in whole]
        found: list[Match] = []
        for word in _joined_words(folded.text, text, folded):
            for hit in pattern.finditer(folded.text, word[0], word[1]):
                start, end = folded.span(hit.start(), hit.end(), len(text))
                if not _glued(text, start, end):
                    continue
                if any(s < end and start < e for s, e in taken):
                    continue
                group = self.match_set.group(hit.group())
                if group is None:
                    continue
                decision, reasons = self._decide(group)
                found.append(Match(start, end, group, decision, (*reasons, "inside_longer_word")))
                taken.append((start, end))
        return found


def _merged(text: str, matches: list[Match]) -> list[Match]:
    """Join overlapping hits, and hits of the same children with only spaces, commas, dots or
    underscores between ("SMITH, Oliver", "smith.oliver@")."""
    merged: list[Match] = []
    for match in matches:
        last = merged[-1] if merged else None
        if last is None or match.start >= last.end:
            same = (
                last is not None
                and last.decision == match.decision == "redacted"
                and last.group.target_ids == match.group.target_ids
                and _joinable(text[last.end : match.start], last, match)
            )
            if same and last is not None:
                merged[-1] = replace(last, end=match.end)
            else:
                merged.append(match)
            continue
        if match.decision == "kept" or last.decision == "kept":
            if last.decision == "kept" and match.decision != "kept" and match.end > last.end:
                continue  # An adult's name: the rest of the overlapping hit is theirs too.
            continue
        merged[-1] = replace(last, end=max(last.end, match.end))
    return merged


def _fragments(folded: str) -> list[str]:
    """Return a folded name as regex fragments: one per letter, a separator between parts."""
    fragments: list[str] = []
    for piece in (p for p in re.split(r"[\s._'\-]+", folded) if p):
        if fragments:
            fragments.append(_SEPARATOR)
        fragments.extend(re.escape(c) for c in piece)
    return fragments


def _trie_pattern(sequences: list[list[str]]) -> str:
    """Return one pattern matching any of the fragment sequences, longest first."""
    root: dict = {}
    for sequence in sequences:
        node = root
        for fragment in sequence:
            node = node.setdefault(fragment, {})
        node[""] = {}

    def depth(node: dict) -> int:
        return 1 + max((depth(child) for child in node.values()), default=0)

    def emit(node: dict) -> str:
        branches = sorted(
            ((fragment, child) for fragment, child in node.items() if fragment),
            key=lambda item: -depth(item[1]),
        )
        alternatives = [fragment + emit(child) for fragment, child in branches]
        if "" in node:
            alternatives.append("")
        if len(alternatives) == 1:
            return alternatives[0]
        return "(?:" + "|".join(alternatives) + ")"

    return emit(root) if root else ""


def _joinable(between: str, first: Match, second: Match) -> bool:
    """Say whether two hits of the same child make one name: spaces only, a dot or an
    underscore (e-mail forms), or a comma after a surname ("SMITH, Oliver")."""
    if not between.strip() or between in (".", "_"):
        return True
    return between.strip() == "," and (
        first.group.forms[0] == "surname"
        and second.group.forms[0] in ("forename", "diminutive", "part")
    )


def _wild_pattern(folded: str) -> str:
    """Return a name pattern in which each letter may also be an unmapped glyph."""
    pieces = [p for p in re.split(r"[\s._'\-]+", folded) if p]
    return _SEPARATOR.join(
        "".join(f"[{re.escape(c)}{UNMAPPED}]" for c in piece) for piece in pieces
    )


def _joined_words(folded_text: str, text: str, folded: Folded) -> list[tuple[int, int]]:
    """Return folded spans of the words that contain a camel-case or letter-digit join."""
    spans: list[tuple[int, int]] = []
    for join in _join_starts(text):
        # Widen the join to the whole word around it, in folded offsets.
        position = _folded_offset(folded, join)
        start = position
        while start > 0 and folded_text[start - 1].isalnum():
            start -= 1
        end = position
        while end < len(folded_text) and folded_text[end].isalnum():
            end += 1
        if not spans or start >= spans[-1][1]:
            spans.append((start, end))
    return spans


def _join_starts(text: str) -> list[int]:
    """Return where each _JOIN match starts, in order (what _JOIN.finditer finds).

    Every join has a digit or a capital at its first or second character, and those are few
    in running text: only the places beside one are tried.
    """
    starts: list[int] = []
    for candidate in _JOIN_NEAR.finditer(text):
        place = candidate.start()
        for start in (place - 1, place):
            if start >= 0 and (not starts or start > starts[-1]) and _JOIN.match(text, start):
                starts.append(start)
    return starts


def _folded_offset(folded: Folded, original: int) -> int:
    if folded.origin is None:
        return original
    return bisect_left(folded.origin, original)


def _case_allows(original: str, group: TermGroup, forms: tuple[str, ...]) -> bool:
    """Say whether the original spelling can be this name (initials and everyday words)."""
    initials = "initials" in forms and group.initials
    if not initials and not (group.ordinary_word and "full" not in forms):
        return True  # Any spelling of an ordinary name form will do.
    letters = [c for c in original if c.isalpha()]
    if initials:
        return all(c.isupper() for c in letters)
    return bool(letters) and letters[0].isupper()


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
