"""Give each other child a stable pseudonym within one bundle."""

from __future__ import annotations

from collections.abc import Iterable
from string import ascii_uppercase


def letters_for(index: int) -> str:
    """Return the letters for a zero-based index: A..Z, then AA, AB, ..."""
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = ascii_uppercase[remainder] + letters
    return letters


class PseudonymBook:
    """Assign "[Child A]", "[Child B]", ... to person ids in order of first use."""

    def __init__(self, assigned: dict[str, str] | None = None) -> None:
        self._letters: dict[str, str] = dict(assigned or {})

    def letters(self, person_id: str) -> str:
        """Return the letters of a person's pseudonym, assigning them on first use."""
        if person_id not in self._letters:
            self._letters[person_id] = letters_for(len(self._letters))
        return self._letters[person_id]

    def label(self, person_ids: Iterable[str]) -> str:
        """Return the pseudonym for one person, or a joint one when a name is shared."""
        ids = list(dict.fromkeys(person_ids))
        if not ids:
            return "[Redacted]"
        return "[Child " + "/".join(self.letters(pid) for pid in ids) + "]"

    def to_dict(self) -> dict[str, str]:
        """Return the assignments to keep with the transfer (person id -> letters)."""
        return dict(self._letters)
