"""Problems found in an import: each names a record and field, never a person or a narrative."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from exchange.errors import ValidationError

MAX_PROBLEMS = 100
_MAX_ID_SHOWN = 60


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input: where it is and what is wrong."""

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


@dataclass
class Problems:
    """Problems collected up to a cap, so one run reports as much as is useful."""

    cap: int = MAX_PROBLEMS
    items: list[Problem] = field(default_factory=list)
    dropped: int = 0

    def add(self, where: str, message: str) -> None:
        """Record a problem, or count it once the cap is reached."""
        if len(self.items) >= self.cap:
            self.dropped += 1
            return
        self.items.append(Problem(where, message))

    def extend(self, problems: Iterable[Problem]) -> None:
        """Record several problems."""
        for problem in problems:
            self.add(problem.where, problem.message)

    def __bool__(self) -> bool:
        return bool(self.items)

    def raise_if_any(self) -> None:
        """Raise ImportRejected when anything was found."""
        if self.items:
            raise ImportRejected(list(self.items), self.dropped)


class ImportRejected(ValidationError):
    """The input was refused; nothing was written."""

    code = "import_rejected"

    def __init__(self, problems: list[Problem], dropped: int = 0) -> None:
        count = len(problems) + dropped
        noun = "problem" if count == 1 else "problems"
        super().__init__(f"import refused, nothing was changed: {count} {noun}")
        self.problems = problems
        self.dropped = dropped

    def lines(self) -> list[str]:
        """Return one line per problem, and a last line if some were not listed."""
        lines = [str(problem) for problem in self.problems]
        if self.dropped:
            lines.append(f"... and {self.dropped} more (only the first {len(lines)} are listed)")
        return lines


def quote_id(value: Any) -> str:
    """Return a record id quoted for a message, shortened if it is long."""
    text = str(value)
    if len(text) > _MAX_ID_SHOWN:
        text = text[:_MAX_ID_SHOWN] + "..."
    return json.dumps(text)


def record_where(collection: str, index: int, record: Any) -> str:
    """Return `collection[index] (id "x")`, the way every message names a record."""
    where = f"{collection}[{index}]"
    if isinstance(record, dict) and isinstance(record.get("id"), str | int):
        where += f" (id {quote_id(record['id'])})"
    return where
