"""Redact names from text strings found in PDF objects and marked content."""

from __future__ import annotations

from exchange.redaction.matcher import Matcher
from exchange.redaction.pseudonyms import PseudonymBook
from exchange.redaction.report import Removal, Report
from exchange.redaction.text import redact_text


class StringRedactor:
    """Redact one string at a time, recording removals and flags in a report."""

    def __init__(
        self, matcher: Matcher, book: PseudonymBook, report: Report, redact_review: bool
    ) -> None:
        self.matcher = matcher
        self.book = book
        self.report = report
        self.redact_review = redact_review

    def redact(self, value: str, page: int | None, location: str) -> str | None:
        """Return the redacted string, or None when nothing changed."""
        matches = self.matcher.find(value)
        if not any(m.decision != "kept" for m in matches):
            return None
        decisions = {}
        if self.redact_review:
            decisions = {f"{m.start}-{m.end}": "redact" for m in matches}
        result = redact_text(value, self.matcher, self.book, decisions)
        for hit in result.hits:
            if hit.decision == "redacted":
                self.report.removed.append(
                    Removal(page, location, hit.person_ids, hit.pseudonym, hit.kind)
                )
            else:
                self.report.flag(
                    page,
                    "possible_name",
                    f"{location}: {', '.join(hit.reasons)}",
                    person_ids=hit.person_ids,
                )
        return result.text if result.text != value else None
