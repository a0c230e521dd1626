"""index.csv and README.txt of the offline export: what each file is, and how to check it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from exchange.packaging.content import Chronology
from exchange.packaging.offline_csv import INDEX_HEADER, spreadsheet_csv


@dataclass(frozen=True)
class IndexRow:
    """One file of the package; size and hash empty where a file cannot list itself."""

    file: str
    title: str
    date: str = ""
    category: str = ""
    size: int | None = None
    sha256: str = ""


def index_csv(rows: Sequence[IndexRow]) -> bytes:
    """Return index.csv, one row per file, in the spreadsheet-safe CSV form."""
    return spreadsheet_csv(
        INDEX_HEADER,
        (
            (
                row.file,
                row.title,
                row.date,
                row.category,
                "" if row.size is None else str(row.size),
                row.sha256,
            )
            for row in rows
        ),
    )


def readme_text(
    chronology: Chronology,
    *,
    form: str,
    receipt: str,
    chronology_json: str,
    chronology_csv: str,
    documents_zip: str,
    index: str,
    certificate: str,
    schema: str,
    fingerprint: str,
) -> bytes:
    """Return README.txt: plain ASCII, CRLF line ends, readable in Notepad."""
    lines = [
        f"Safeguarding file transfer {chronology.transfer_id} (offline export, version 2)",
        "",
        "Confidential: child protection. Keep these files with the child protection file.",
        "",
        f"{form}  The transfer form. It lists every file with its SHA-256 and is",
        "    digitally signed (PAdES) by the sending school's key. Sign it and keep it.",
        f"{receipt}  The receipt code: give it to the sending school's DSL.",
        f"{chronology_json}  The chronology as JSON, to load into another system.",
        f"{chronology_csv}  The chronology as CSV, one row per incident (UTF-8), for a",
        "    spreadsheet. Cells a spreadsheet would run as a formula start with '.",
        f"{documents_zip}  The documents under their titles (a plain zip inside this one).",
        f"{index}  Every file: name, title, date, category, size and SHA-256.",
        f"{certificate}  The sending school's signing certificate (self-signed).",
        f"{schema}  The JSON Schema (2020-12) that {chronology_json} follows.",
        "",
        "Checking the form's signature: the certificate's dnQualifier is the fingerprint of",
        "the sending school's key. Check it against the fingerprint the sending DSL gives",
        "you by phone:",
        f"    {fingerprint}",
        "Trust comes from that fingerprint, not from a certificate authority: a PDF reader",
        "may call the signer 'unknown' until you trust this certificate.",
        "",
    ]
    return "\r\n".join(lines).encode("ascii", errors="replace")
