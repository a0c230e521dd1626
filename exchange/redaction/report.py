"""Build the JSON redaction report for one document or chronology: never any names."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

REPORT_VERSION = 1


@dataclass(frozen=True)
class Removal:
    """Say that a name of a person was removed from a place in a document."""

    page: int | None
    location: str
    person_ids: tuple[str, ...]
    pseudonym: str | None
    kind: str
    # Where it was, in points from the page's top left, when known (a name burned from a scan).
    box: tuple[float, float, float, float] | None = None


@dataclass(frozen=True)
class Flag:
    """Say that part of a document cannot be verified and needs a person to look."""

    page: int | None
    reason: str
    detail: str = ""
    person_ids: tuple[str, ...] = ()
    box: tuple[float, float, float, float] | None = None  # Points from the page's top left.


@dataclass(frozen=True)
class CheckHit:
    """Say that the independent check found a name that should have gone."""

    source: str
    person_id: str
    page: int | None = None
    box: tuple[float, float, float, float] | None = None  # Points from the page's top left.


@dataclass
class CheckResult:
    """Hold the outcome of the independent check of a redacted file."""

    tools: list[str] = field(default_factory=list)
    fallbacks: list[str] = field(default_factory=list)
    hits: list[CheckHit] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """Say whether the check found nothing and ran at least one extractor."""
        return not self.hits and bool(self.tools)

    def to_dict(self) -> dict[str, Any]:
        """Return the result as JSON-ready data."""
        return {
            "passed": self.passed,
            "tools": list(self.tools),
            "fallbacks": list(self.fallbacks),
            "hits": [asdict(h) for h in dict.fromkeys(self.hits)],
        }


@dataclass
class Report:
    """Collect what was removed, flagged and decided for one document."""

    document: str
    kind: str = "pdf"
    removed: list[Removal] = field(default_factory=list)
    flags: list[Flag] = field(default_factory=list)
    decisions: list[dict[str, Any]] = field(default_factory=list)
    check: CheckResult | None = None

    def flag(self, page: int | None, reason: str, detail: str = "", **extra: Any) -> None:
        """Add a flag once (the same page, reason and detail is not repeated)."""
        new = Flag(page, reason, detail, tuple(extra.get("person_ids", ())), extra.get("box"))
        if new not in self.flags:
            self.flags.append(new)

    @property
    def status(self) -> str:
        """Return "blocked", "needs_review" or "clean"."""
        if self.check is not None and not self.check.passed:
            return "blocked"
        pending = any(d.get("decision") == "needs_review" for d in self.decisions)
        return "needs_review" if self.flags or pending else "clean"

    def to_dict(self) -> dict[str, Any]:
        """Return the report as JSON-ready data."""
        return {
            "version": REPORT_VERSION,
            "document": self.document,
            "kind": self.kind,
            "status": self.status,
            "removed": [_removal(r) for r in self.removed],
            "flags": [_flag(f) for f in self.flags],
            "decisions": list(self.decisions),
            "check": self.check.to_dict() if self.check is not None else None,
        }

    def to_json(self) -> str:
        """Return the report as indented JSON."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=True, ensure_ascii=False)


def _removal(removal: Removal) -> dict[str, Any]:
    data = asdict(removal)
    data["person_ids"] = list(removal.person_ids)
    if removal.box is None:
        del data["box"]
    else:
        data["box"] = list(removal.box)
    return data


def _flag(flag: Flag) -> dict[str, Any]:
    data = asdict(flag)
    data["person_ids"] = list(flag.person_ids)
    return data
