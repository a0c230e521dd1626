"""The visual check: what a reader sees on the rendered page, whatever the text layer says."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from exchange.errors import ValidationError
from exchange.redaction.names import Person
from exchange.redaction.pipeline import RedactionBlocked, process_pdf
from tests.redaction.producers import (
    docx_file,
    ghostscript_pdfwrite,
    libreoffice_convert,
    ocr_pdf,
)
from tests.redaction.tools import pdftotext, plain, require

PEOPLE = [
    Person("s1", "Rowan", "Pike"),
    Person("c1", "Griffin", "Talbot"),
    Person("c2", "Bailey", "Norris"),
]


@pytest.fixture(scope="module")
def ligature_pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Word document -> LibreOffice PDF -> Ghostscript pdfwrite, which garbles "ffi"."""
    folder = tmp_path_factory.mktemp("ligature")
    source = docx_file(
        folder / "note.docx",
        ["On Monday Griffin shouted at the office staff while Rowan Pike waited."],
    )
    return ghostscript_pdfwrite(libreoffice_convert(source, folder), folder / "gs.pdf")


@pytest.fixture(scope="module")
def outlined_pdf(ligature_pdf: Path) -> Path:
    """The same page with every glyph turned into a drawn outline (Ghostscript -dNoOutputFonts)."""
    target = ligature_pdf.with_name("outlined.pdf")
    options = ["-q", "-dNOPAUSE", "-dBATCH", "-dSAFER", "-sDEVICE=pdfwrite", "-dNoOutputFonts"]
    subprocess.run(
        [require("gs"), *options, f"-sOutputFile={target}", str(ligature_pdf)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return target


@pytest.mark.slow
def test_a_name_drawn_without_text_is_seen_on_the_page_and_blocks(outlined_pdf, tmp_path):
    # The premise: no text layer at all, so every text extractor misses the name; a reader does not.
    assert plain(pdftotext(outlined_pdf)).strip() == ""
    assert "griffin" in ocr_pdf(outlined_pdf, tmp_path)
    output = tmp_path / "out.pdf"
    with pytest.raises(RedactionBlocked) as blocked:
        process_pdf(outlined_pdf, output, PEOPLE, subject_id="s1")
    hits = [h for h in blocked.value.report.check.hits if h.source == "ocr_rendered_page"]
    assert [(h.person_id, h.page) for h in hits] == [("c1", 1)]
    left, top, right, bottom = hits[0].box
    # The word sits on the first line, in the left half of an A4 or Letter page (points).
    assert 0 < left < right < 300
    assert 0 < top < bottom < 150
    assert not output.exists()
    assert blocked.value.report.to_dict()["status"] == "blocked"


@pytest.mark.slow
def test_a_mis_mapped_ligature_never_leaves_the_name_on_the_page(ligature_pdf, tmp_path):
    # Ghostscript's text layer reads "Gri?in": the name is removed or the file is blocked.
    assert "griffin" not in plain(pdftotext(ligature_pdf))
    output = tmp_path / "out.pdf"
    try:
        process_pdf(ligature_pdf, output, PEOPLE, subject_id="s1")
    except RedactionBlocked:
        assert not output.exists()
    else:
        seen = ocr_pdf(output, tmp_path)
        assert "griffin" not in seen
        assert "rowan pike" in seen


@pytest.mark.slow
def test_ordinary_words_close_to_a_name_do_not_block(tmp_path):
    source = docx_file(
        tmp_path / "farm.docx",
        [
            "The barley field by the road was cut early this year.",
            "Rowan Pike helped to mark the rows with the class.",
        ],
    )
    pdf = libreoffice_convert(source, tmp_path)
    report = process_pdf(pdf, tmp_path / "out.pdf", PEOPLE, subject_id="s1")
    assert report.status == "clean"
    assert "tesseract_rendered_pages" in report.check.tools
    assert "barley" in plain(pdftotext(tmp_path / "out.pdf"))


def test_without_tesseract_the_file_needs_a_person(tmp_path, monkeypatch):
    source = docx_file(tmp_path / "n.docx", ["Nothing to see."])
    pdf = libreoffice_convert(source, tmp_path)
    monkeypatch.setenv("PATH", "/nonexistent")
    report = process_pdf(pdf, tmp_path / "out.pdf", PEOPLE, subject_id="s1")
    assert report.status == "needs_review"
    assert [f.reason for f in report.flags] == ["visual_check_not_run"]


def _tesseract_killed(folder: Path, times: int) -> str:
    """Return a PATH whose tesseract is killed the first `times` runs, then is the real one."""
    real = shutil.which("tesseract")
    assert real is not None
    counter = folder / "runs"
    wrapper = folder / "bin" / "tesseract"
    wrapper.parent.mkdir()
    wrapper.write_text(
        "#!/bin/sh\n"
        f'echo run >> "{counter}"\n'
        f'if [ "$(wc -l < "{counter}")" -le {times} ]; then kill -9 $$; fi\n'
        f'exec "{real}" "$@"\n'
    )
    wrapper.chmod(0o755)
    return f"{wrapper.parent}:{os.environ['PATH']}"


def test_a_tesseract_killed_once_is_run_again_and_the_page_is_still_read(tmp_path, monkeypatch):
    source = docx_file(tmp_path / "k.docx", ["Rowan Pike helped to mark the rows."])
    pdf = libreoffice_convert(source, tmp_path)
    monkeypatch.setenv("PATH", _tesseract_killed(tmp_path, 1))
    report = process_pdf(pdf, tmp_path / "out.pdf", PEOPLE, subject_id="s1")
    assert report.status == "clean"
    assert "tesseract_rendered_pages" in report.check.tools
    assert (tmp_path / "runs").read_text().count("run") >= 2


def test_a_tesseract_that_keeps_failing_refuses_the_file(tmp_path, monkeypatch):
    source = docx_file(tmp_path / "f.docx", ["Rowan Pike helped to mark the rows."])
    pdf = libreoffice_convert(source, tmp_path)
    monkeypatch.setenv("PATH", _tesseract_killed(tmp_path, 100))
    with pytest.raises(ValidationError, match=r"tesseract failed \(exit -9\)"):
        process_pdf(pdf, tmp_path / "out.pdf", PEOPLE, subject_id="s1")
    assert not (tmp_path / "out.pdf").exists()
