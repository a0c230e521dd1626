"""How far the background redaction of a review has gone: incidents, then documents."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from exchange.transfers.models import Transfer


class Counts(NamedTuple):
    """Incidents and documents redacted so far, of how many."""

    incidents_done: int
    incidents_total: int
    documents_done: int
    documents_total: int

    @property
    def done(self) -> int:
        """Return the items done, incidents and documents together (for a progress bar)."""
        return self.incidents_done + self.documents_done

    @property
    def total(self) -> int:
        """Return the items to do, incidents and documents together."""
        return self.incidents_total + self.documents_total

    def words(self) -> str:
        """Say it for the DSL, e.g. "incidents: 3 of 300 done; documents: 0 of 30 done"."""
        parts = []
        if self.incidents_total:
            parts.append(f"incidents: {self.incidents_done} of {self.incidents_total} done")
        if self.documents_total or not parts:
            parts.append(f"documents: {self.documents_done} of {self.documents_total} done")
        return "; ".join(parts)


# Called with the counts as each incident or document is done.
CountsProgress = Callable[[Counts], None]


def counts_of(transfer: Transfer) -> Counts:
    """Return the transfer's saved progress."""
    return Counts(
        transfer.incidents_done or 0,
        transfer.incidents_total or 0,
        transfer.vault_done or 0,
        transfer.vault_total or 0,
    )
