"""Helpers for the offline version 2 tests: open the zips with 7-Zip, read the CSV files."""

from __future__ import annotations

import csv
import io
import subprocess
from pathlib import Path

from bundle_kit import tool

from exchange.packaging import offline

SCHEMA = Path(__file__).parents[2] / "docs" / "schemas" / "offline-chronology.schema.json"


def open_with_7zip(package: Path, passphrase: str, out: Path) -> Path:
    """Extract the AES zip, then its inner documents.zip into out/documents; return out."""
    seven = tool("7zz", "7z")
    subprocess.run(
        [seven, "x", f"-p{passphrase}", f"-o{out}", str(package)], check=True, capture_output=True
    )
    subprocess.run(
        [seven, "x", f"-o{out / 'documents'}", str(out / offline.DOCUMENTS_NAME)],
        check=True,
        capture_output=True,
    )
    return out


def read_csv(path: Path) -> list[dict[str, str]]:
    """Return the rows of a spreadsheet CSV, checking the BOM is there."""
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def pdf_text(path: Path) -> str:
    """Return the text of a PDF as pdftotext reads it."""
    return subprocess.run(
        [tool("pdftotext"), "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
