"""Redact other children's names from narratives, actions and summaries."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Literal

from exchange.errors import ValidationError
from exchange.redaction.matcher import Match, Matcher
from exchange.redaction.names import MatchSet
from exchange.redaction.pseudonyms import PseudonymBook

HitDecision = Literal["redacted", "needs_review", "not_a_child"]
DSL_DECISIONS = ("redact", "not_a_child")


@dataclass(frozen=True)
class Hit:
    """One name found in text; holds ids and offsets, never the name itself."""

    key: str
    start: int
    end: int
    kind: str
    person_ids: tuple[str, ...]
    decision: HitDecision
    reasons: tuple[str, ...]
    pseudonym: str | None

    def to_dict(self) -> dict[str, object]:
        """Return the hit as JSON-ready data."""
        data = asdict(self)
        data["person_ids"] = list(self.person_ids)
        data["reasons"] = list(self.reasons)
        return data


@dataclass(frozen=True)
class TextRedaction:
    """Hold redacted text and the hits found in the original."""

    text: str
    hits: list[Hit]

    @property
    def needs_review(self) -> bool:
        """Say whether any hit waits for a DSL decision."""
        return any(h.decision == "needs_review" for h in self.hits)


def hit_key(match: Match) -> str:
    """Return the key a DSL decision refers to: the offsets of the hit."""
    return f"{match.start}-{match.end}"


def redact_text(
    text: str,
    match_set: MatchSet | Matcher,
    book: PseudonymBook,
    decisions: Mapping[str, str] | None = None,
) -> TextRedaction:
    """Replace each other child's name with a stable pseudonym and list every hit."""
    matcher = match_set if isinstance(match_set, Matcher) else Matcher(match_set)
    decisions = dict(decisions or {})
    for key, value in decisions.items():
        if value not in DSL_DECISIONS:
            raise ValidationError(f"decision must be one of {DSL_DECISIONS}", where=key)
    pieces: list[str] = []
    hits: list[Hit] = []
    cursor = 0
    for match in matcher.find(text):
        if match.decision == "kept":
            continue
        key = hit_key(match)
        decision = _decide(match, decisions.get(key))
        label = book.label(match.group.target_ids) if decision == "redacted" else None
        hits.append(
            Hit(
                key=key,
                start=match.start,
                end=match.end,
                kind=match.group.forms[0],
                person_ids=match.group.target_ids,
                decision=decision,
                reasons=match.reasons,
                pseudonym=label,
            )
        )
        if label is not None:
            pieces.append(text[cursor : match.start])
            pieces.append(label)
            cursor = match.end
    pieces.append(text[cursor:])
    return TextRedaction("".join(pieces), hits)


def _decide(match: Match, dsl: str | None) -> HitDecision:
    if dsl == "redact":
        return "redacted"
    if dsl == "not_a_child":
        return "not_a_child"
    return match.decision  # type: ignore[return-value]
