"""Counts of what an import created, updated and left unchanged, per record type."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

RECORD_TYPES = ("staff", "pupils", "incidents", "actions", "edits", "documents")
OUTCOMES = ("created", "updated", "unchanged")


@dataclass
class ImportSummary:
    """How many records of each type were created, updated or left as they were."""

    counts: dict[str, Counter[str]] = field(
        default_factory=lambda: {kind: Counter() for kind in RECORD_TYPES}
    )

    def count(self, kind: str, outcome: str) -> None:
        """Count one record of a type with its outcome."""
        self.counts[kind][outcome] += 1

    def get(self, kind: str, outcome: str) -> int:
        """Return how many records of a type had an outcome."""
        return self.counts[kind][outcome]

    def line(self) -> str:
        """Return the one-line summary printed at the end of an import."""
        parts = []
        for kind in RECORD_TYPES:
            numbers = ", ".join(f"{self.counts[kind][outcome]} {outcome}" for outcome in OUTCOMES)
            parts.append(f"{kind}: {numbers}")
        return "imported: " + "; ".join(parts)

    def as_dict(self) -> dict[str, dict[str, int]]:
        """Return the counts as plain numbers, for logs and JSON."""
        return {
            kind: {outcome: self.counts[kind][outcome] for outcome in OUTCOMES}
            for kind in RECORD_TYPES
        }
