"""The chronology PDF: real text in time order, outline, title, language, escaping."""

from __future__ import annotations

import dataclasses
import subprocess
from pathlib import Path

import pikepdf
from bundle_kit import tool

from exchange.packaging.chronology_pdf import render_chronology_pdf
from exchange.packaging.samples import fictional_chronology


def test_pdf_has_text_outline_title_and_language(tmp_path: Path) -> None:
    chronology = fictional_chronology(15)
    path = tmp_path / "chronology.pdf"
    path.write_bytes(render_chronology_pdf(chronology))
    with pikepdf.open(path) as pdf:
        assert str(pdf.Root.Lang) == "en-GB"
        assert "transfer tr-00000000-test" in str(pdf.docinfo["/Title"])
        assert pdf.Root.ViewerPreferences.DisplayDocTitle
        with pdf.open_outline() as outline:
            titles = [item.title for item in outline.root]
            assert titles[0] == "Child protection file: chronology"
            assert "DSL conversation summary" in titles
            incidents = next(i for i in outline.root if i.title == "Incidents in time order")
            assert len(incidents.children) == 15
    text = subprocess.run(
        [tool("pdftotext"), "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "Alex Fictional" in text
    assert "Examplefield Academy" in text
    assert "<b>not markup</b> & 'quoted'" in text
    assert "Page 1 of" in text
    refs = [line.split()[-1] for line in text.splitlines() if "Reference" in line]
    ordered = [i.ref for i in chronology.in_time_order()]
    assert refs == ordered


def test_pdf_is_generated_identically() -> None:
    chronology = fictional_chronology(3)
    assert render_chronology_pdf(chronology) == render_chronology_pdf(chronology)


def test_hostile_narrative_is_shown_verbatim_and_the_file_checks(tmp_path: Path) -> None:
    """Markup, PDF string syntax, line ends and an overlong word come out as written."""
    chronology = fictional_chronology(2)
    hostile = (
        "<script>alert(1)</script> <para>&amp;</para> (unbalanced \\) back\\slash\r\n"
        "second line\rthird line " + "W" * 300
    )
    first = dataclasses.replace(chronology.incidents[0], narrative=hostile, author="<i>(x</i>")
    chronology = dataclasses.replace(chronology, incidents=(first, *chronology.incidents[1:]))
    path = tmp_path / "hostile.pdf"
    path.write_bytes(render_chronology_pdf(chronology))
    assert subprocess.run([tool("qpdf"), "--check", str(path)], capture_output=True).returncode == 0
    text = subprocess.run(
        [tool("pdftotext"), str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "<script>alert(1)</script> <para>&amp;</para> (unbalanced \\) back\\slash\n" in text
    assert "second line\nthird line\n" in text
    assert "W" * 300 in text.replace("\n", "")
    assert "<i>(x</i>" in text
    with pikepdf.open(path) as pdf:
        pages = len(pdf.pages)
    assert f"Page {pages} of {pages}" in text
