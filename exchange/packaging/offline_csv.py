"""CSV files a spreadsheet opens safely: UTF-8 with a BOM, and no cell read as a formula."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from zoneinfo import ZoneInfo

from exchange.packaging.content import Chronology

LONDON = ZoneInfo("Europe/London")
BOM = "\ufeff"
# A cell starting with one of these is run as a formula by Excel or LibreOffice Calc (OWASP).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CHRONOLOGY_HEADER = (
    "reference",
    "date",
    "time",
    "category",
    "shared category",
    "other categories",
    "narrative",
    "actions",
    "author role",
    "status",
)
INDEX_HEADER = ("file", "title", "date", "category", "bytes", "sha256")


def neutralise(value: str) -> str:
    """Return the cell with a leading apostrophe if a spreadsheet would run it as a formula."""
    return f"'{value}" if value.startswith(FORMULA_STARTS) else value


def spreadsheet_csv(header: Sequence[str], rows: Iterable[Sequence[str]]) -> bytes:
    """Return the rows as CSV: UTF-8 with a BOM, CRLF line ends, every cell quoted."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([neutralise(cell) for cell in row] for row in rows)
    return (BOM + buffer.getvalue()).encode("utf-8")


def chronology_csv(
    chronology: Chronology, author_roles: Mapping[str, str], shared: Mapping[str, str]
) -> bytes:
    """Return chronology.csv: one row per incident in time order, texts already redacted."""
    rows = []
    for incident in chronology.in_time_order():
        local = incident.occurred_at.astimezone(LONDON)
        actions = "\n".join(
            f"{action.taken_at.astimezone(LONDON).date().isoformat()}: {action.text}"
            for action in incident.actions
        )
        rows.append(
            (
                incident.ref,
                local.date().isoformat(),
                local.strftime("%H:%M"),
                incident.category,
                shared.get(incident.ref, ""),
                "; ".join(incident.subcategories),
                incident.narrative,
                actions,
                author_roles.get(incident.ref, ""),
                incident.status,
            )
        )
    return spreadsheet_csv(CHRONOLOGY_HEADER, rows)
