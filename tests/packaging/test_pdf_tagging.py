"""The chronology and the transfer form are tagged PDFs with a language, read by poppler."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pikepdf
import pytest

from exchange.packaging.chronology_pdf import render_chronology_pdf
from exchange.packaging.samples import fictional_chronology
from exchange.packaging.transfer_form import render_transfer_form


@pytest.mark.parametrize("which", ["chronology", "form"])
def test_generated_pdfs_are_tagged_in_reading_order(which: str, tmp_path: Path) -> None:
    chronology = fictional_chronology(incidents=3)
    data = (
        render_chronology_pdf(chronology)
        if which == "chronology"
        else render_transfer_form(chronology, [], "02-receipt-code.txt", 1)
    )
    path = tmp_path / "out.pdf"
    path.write_bytes(data)
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    assert "Tagged:          yes" in info
    assert subprocess.run(["qpdf", "--check", str(path)], capture_output=True).returncode == 0
    with pikepdf.open(io.BytesIO(data)) as pdf:
        assert str(pdf.Root.Lang) == "en-GB"
        sections = pdf.Root.StructTreeRoot.K.K
        assert len(sections) == len(pdf.pages)
        assert all(
            section.Pg == page.obj for section, page in zip(sections, pdf.pages, strict=True)
        )
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True)
    assert "transfer" in text.stdout.lower()
