"""The demo's vault PDFs: text ones can be read, the scan cannot, and some name other children."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pypdfium2 as pdfium
import pytest

from exchange.demo.generate import DemoData


def _text(content: bytes) -> str:
    document = pdfium.PdfDocument(content)
    try:
        pages = []
        for page in document:
            textpage = page.get_textpage()
            pages.append(textpage.get_text_range())
            textpage.close()
            page.close()
        return "\n".join(pages)
    finally:
        document.close()


def _documents(demo: DemoData) -> list[tuple[dict, bytes]]:
    return [(record, demo.files[record["file"]]) for record in demo.records["documents"]]


def test_every_document_is_a_pdf_with_the_declared_hash(demo: DemoData) -> None:
    import hashlib

    assert len(demo.records["documents"]) >= 8
    for record, content in _documents(demo):
        assert content.startswith(b"%PDF-")
        assert record["size"] == len(content)
        assert record["sha256"] == hashlib.sha256(content).hexdigest()


def test_exactly_one_scan_has_no_extractable_text(demo: DemoData) -> None:
    scans = [(r, c) for r, c in _documents(demo) if "(scan)" in r["filename"]]
    assert len(scans) == 1
    assert _text(scans[0][1]).strip() == ""
    for record, content in _documents(demo):
        if record is not scans[0][0]:
            assert len(_text(content).strip()) > 40, record["filename"]


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler's pdftotext not installed")
def test_pdftotext_agrees_about_the_scan(demo: DemoData, tmp_path: Path) -> None:
    for record, content in _documents(demo):
        path = tmp_path / f"{record['id']}.pdf"
        path.write_bytes(content)
        result = subprocess.run(
            ["pdftotext", str(path), "-"], capture_output=True, check=True, text=True
        )
        if "(scan)" in record["filename"]:
            assert result.stdout.strip() == ""
        else:
            assert result.stdout.strip()


def test_some_documents_name_other_demo_children(demo: DemoData) -> None:
    pupils = {pupil["id"]: pupil for pupil in demo.records["pupils"]}
    naming_others = 0
    for record, content in _documents(demo):
        text = " ".join(_text(content).split())
        others = [p for pid, p in pupils.items() if pid != record["pupil"]]
        if any(f"{p['forename']} {p['surname']}" in text for p in others):
            naming_others += 1
        subject = pupils[record["pupil"]]
        if "(scan)" not in record["filename"]:
            assert subject["forename"] in text
    assert naming_others >= 4
