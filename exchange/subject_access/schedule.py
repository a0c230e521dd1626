"""The schedule of withheld and removed information: what kind, from which record, and why.

A row says which record (its date and category), what was withheld (a whole record, a passage,
a document, other people's details) and the exemption with its legal basis. It never carries
the content, the DSL's reason or anything about the other people.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from exchange.subject_access.exemptions import OTHER_PEOPLE, exemption
from exchange.subject_access.models import SubjectAccessItem, SubjectAccessRequest
from exchange.subject_access.redaction import removals

LEFT_OUT = (
    "Not disclosed by the school. The reason is kept with this request for the Data "
    "Protection Officer; it is not given here because it may concern another person."
)


@dataclass(frozen=True)
class ScheduleRow:
    """One line of the schedule."""

    number: int
    record_date: date | None
    category: str
    what: str
    reason: str
    basis: str
    exemption_id: int | None = None


def build_schedule(request: SubjectAccessRequest) -> list[ScheduleRow]:
    """Return the schedule rows in the records' date order."""
    entries: list[tuple[SubjectAccessItem, str, str, str, int | None]] = []
    for item in request.items:
        if not item.in_scope:
            continue
        if not item.included:
            entries.append((item, _whole(item), "Record not disclosed", LEFT_OUT, None))
            continue
        for row in request.exemptions:
            if row.item_id != item.id:
                continue
            found = exemption(row.exemption)
            what = "A passage" if row.passage else _whole(item)
            entries.append((item, what, found.title, found.basis, row.id))
        if removals(item) and not _withheld_whole(request, item):
            entries.append(
                (
                    item,
                    "Names or details of other people",
                    OTHER_PEOPLE.title,
                    OTHER_PEOPLE.basis,
                    None,
                )
            )
    entries.sort(key=lambda e: (e[0].occurred_at is None, e[0].occurred_at, e[0].id))
    return [
        ScheduleRow(
            number,
            item.occurred_at.date() if item.occurred_at else None,
            _category(item),
            what,
            reason,
            basis,
            exemption_id,
        )
        for number, (item, what, reason, basis, exemption_id) in enumerate(entries, start=1)
    ]


def _whole(item: SubjectAccessItem) -> str:
    return "The whole document" if item.kind == "document" else "The whole record"


def _withheld_whole(request: SubjectAccessRequest, item: SubjectAccessItem) -> bool:
    return any(e.item_id == item.id and e.passage is None for e in request.exemptions)


def _category(item: SubjectAccessItem) -> str:
    return item.category or ("Document" if item.kind == "document" else "Record")
