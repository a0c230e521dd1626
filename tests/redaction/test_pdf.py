"""Redact the generated corpus and check the output with poppler and qpdf."""

from __future__ import annotations

from pathlib import Path

import pikepdf
import pytest

from exchange.redaction.names import build_match_set
from exchange.redaction.pdf import redact_pdf
from exchange.redaction.pipeline import process_pdf
from exchange.redaction.pseudonyms import PseudonymBook
from tests.redaction import corpus
from tests.redaction.tools import assert_gone, pdftotext, position, qpdf_check, renders

REDACT = {"subject_id": "s1", "family_ids": ["s2"]}


def run(build, tmp_path: Path, **kwargs):
    """Build a corpus file, redact it and return (output path, report)."""
    source = tmp_path / "in.pdf"
    build(source, **kwargs)
    target = tmp_path / "out.pdf"
    report = process_pdf(source, target, corpus.PEOPLE, book=PseudonymBook(), **REDACT)
    return target, report


def reasons(report) -> set[str]:
    """Return the flag reasons of a report."""
    return {flag.reason for flag in report.flags}


def test_standard_fonts_and_classic_failures_are_removed(tmp_path: Path) -> None:
    out, report = run(corpus.reportlab_pdf, tmp_path)
    assert_gone(out, tmp_path, [*corpus.TARGET_WORDS, "Zoë", "Zoe"])
    text = pdftotext(out)
    assert "Rowan Pike" in text  # The subject's name stays.
    assert "argued in the hall" in text
    assert report.check is not None
    assert report.check.passed
    locations = {r.location for r in report.removed}
    assert {"page", "info", "outline", "link"} <= locations
    assert reasons(report) == set()
    assert report.status == "clean"


def test_report_never_contains_a_name(tmp_path: Path) -> None:
    _, report = run(corpus.reportlab_pdf, tmp_path)
    serialised = report.to_json().lower()
    for word in [*corpus.TARGET_WORDS, "zoe", "zoë"]:
        assert word.lower() not in serialised


def test_text_after_a_removed_name_keeps_its_position(tmp_path: Path) -> None:
    out, _ = run(corpus.kerned_pdf, tmp_path)
    source = tmp_path / "in.pdf"
    for word in ("left", "went", "arrived", "again."):
        before, after = position(source, word), position(out, word)
        assert abs(before[0] - after[0]) < 0.05, word
        assert abs(before[1] - after[1]) < 0.05, word
    with pikepdf.open(out) as pdf:
        numbers = [
            number
            for instruction in pikepdf.parse_content_stream(pdf.pages[0])
            if str(instruction.operator) == "TJ"
            for number in instruction.operands[0]
            if not isinstance(number, pikepdf.String)
        ]
    assert -20 not in numbers  # Kerning inside a removed name is folded into its width.
    assert 15 not in numbers


def test_kerned_hex_octal_quotes_positioning_and_hyphenation(tmp_path: Path) -> None:
    out, report = run(corpus.kerned_pdf, tmp_path)
    assert_gone(out, tmp_path, ["Ellery", "Quorn", "Ward-Thomas", "Qu-"])
    text = pdftotext(out)
    assert "left early." in text
    assert "went home" in text
    assert "First line" in text
    assert "arrived" in text
    assert "again." in text
    assert report.status == "clean"


def test_differences_encoding(tmp_path: Path) -> None:
    out, report = run(corpus.differences_pdf, tmp_path)
    assert_gone(out, tmp_path, ["Quorn"])
    assert "is here" in pdftotext(out)
    assert report.removed


def test_form_xobject_and_tiling_pattern(tmp_path: Path) -> None:
    out, report = run(corpus.form_xobject_pdf, tmp_path)
    assert_gone(out, tmp_path, ["Ellery", "Quorn"])
    assert {"form_xobject", "pattern"} <= {r.location for r in report.removed}


def test_truetype_subset_with_custom_encoding(tmp_path: Path) -> None:
    out, report = run(corpus.truetype_subset_pdf, tmp_path)
    assert_gone(out, tmp_path, ["Ellery", "Quorn", "Ward", "Thomas"])
    assert report.status == "clean"


def test_truetype_subset_without_unicode_map_is_flagged(tmp_path: Path) -> None:
    out, report = run(corpus.truetype_subset_pdf, tmp_path, keep_to_unicode=False)
    assert "no_unicode_mapping" in reasons(report)
    assert_gone(out, tmp_path, ["Ellery", "Quorn"])  # Removed on a guess, and still flagged.
    assert all(f.page == 1 for f in report.flags)
    assert report.status == "needs_review"
    assert qpdf_check(out).returncode == 0


def test_cid_font_with_to_unicode(tmp_path: Path) -> None:
    out, report = run(corpus.cid_pdf, tmp_path, to_unicode=True)
    assert_gone(out, tmp_path, ["Ellery", "Quorn"])
    assert "sat alone" in pdftotext(out)
    assert report.status == "clean"


def test_cid_font_without_to_unicode_is_read_through_the_font_cmap(tmp_path: Path) -> None:
    out, report = run(corpus.cid_pdf, tmp_path, to_unicode=False)
    assert_gone(out, tmp_path, ["Ellery", "Quorn"])
    assert "no_unicode_mapping" not in reasons(report)
    assert report.status == "clean"


def test_cid_font_with_no_text_map_anywhere_is_flagged(tmp_path: Path) -> None:
    source = tmp_path / "in.pdf"
    corpus.cid_pdf(source, to_unicode=False, font_cmap=False)
    match_set = build_match_set(corpus.PEOPLE, "s1", ["s2"])
    report = redact_pdf(source, tmp_path / "out.pdf", match_set, PseudonymBook())
    assert "no_unicode_mapping" in reasons(report)
    assert report.status == "needs_review"


def test_type3_font_is_removed_and_flagged(tmp_path: Path) -> None:
    out, report = run(corpus.type3_pdf, tmp_path)
    assert "type3_font" in reasons(report)
    assert report.removed
    with pikepdf.open(out) as pdf:
        shown = [
            bytes(item)
            for i in pikepdf.parse_content_stream(pdf.pages[0])
            if str(i.operator) == "TJ"
            for item in i.operands[0]
            if isinstance(item, pikepdf.String)
        ]
    assert not any(shown)


def test_scan_page_is_flagged(tmp_path: Path) -> None:
    _, report = run(corpus.scan_pdf, tmp_path)
    # OCR reads the picture (tests/redaction/test_scans.py): its tiny text is read with little
    # confidence, so the page still needs a person.
    assert "no_readable_text" in reasons(report)
    assert {f.page for f in report.flags} == {1}


def test_every_other_hiding_place_is_cleaned(tmp_path: Path) -> None:
    out, report = run(corpus.hiding_places_pdf, tmp_path)
    assert_gone(out, tmp_path, ["Ellery", "Quorn", "Ward-Thomas"])
    with pikepdf.open(out) as pdf:
        assert "/EmbeddedFiles" not in pdf.Root.get("/Names", {})
        assert "/OpenAction" not in pdf.Root
        assert "/Metadata" not in pdf.Root
        assert all("Ellery" not in str(k) for k in pdf.Root.Dests.keys())  # noqa: SIM118
    locations = {r.location for r in report.removed}
    expected = {"annotation", "form_field", "javascript", "embedded_file", "xmp_metadata"}
    assert expected <= locations
    assert {"marked_content", "structure_tree", "named_destination"} <= locations
    assert "embedded_file_removed" in reasons(report)  # The DSL must know it was dropped.
    # The glyphs "E.Q." carry /ActualText "Ellery Quorn": they stand for the full name and go.
    assert "E.Q." not in pdftotext(out)
    assert any(r.location == "page" and r.page == 1 for r in report.removed)


def test_negative_control_is_unchanged(tmp_path: Path) -> None:
    source = tmp_path / "in.pdf"
    corpus.plain_pdf(source)
    target = tmp_path / "out.pdf"
    report = process_pdf(source, target, corpus.PEOPLE, **REDACT)
    with pikepdf.open(source) as before, pikepdf.open(target) as after:
        assert len(before.pages) == len(after.pages)
        for old, new in zip(before.pages, after.pages, strict=True):
            assert old.obj.Contents.read_bytes() == new.obj.Contents.read_bytes()
        assert str(after.docinfo["/Title"]) == "Attendance summary"
    assert pdftotext(source) == pdftotext(target)
    assert qpdf_check(target).returncode == 0
    assert renders(target, tmp_path)
    assert report.status == "clean"
    assert not report.removed


def test_output_is_a_complete_rewrite(tmp_path: Path) -> None:
    source = tmp_path / "in.pdf"
    corpus.reportlab_pdf(source)
    with pikepdf.open(source, allow_overwriting_input=True) as pdf:
        pdf.docinfo["/Title"] = "Revised about Ellery Quorn"
        pdf.save(source)
    # Append an incremental update that hides the old title in an earlier revision.
    data = source.read_bytes()
    source.write_bytes(data + b"\n% Ellery Quorn in a comment of an older revision\n")
    target = tmp_path / "out.pdf"
    process_pdf(source, target, corpus.PEOPLE, **REDACT)
    raw = target.read_bytes()
    assert raw.count(b"%%EOF") == 1
    assert b"Ellery" not in raw


@pytest.mark.parametrize(
    "build",
    [corpus.reportlab_pdf, corpus.kerned_pdf, corpus.hiding_places_pdf, corpus.cid_pdf],
    ids=["reportlab", "kerned", "hiding", "cid"],
)
def test_outputs_render(tmp_path: Path, build) -> None:
    kwargs = {"to_unicode": True} if build is corpus.cid_pdf else {}
    out, _ = run(build, tmp_path, **kwargs)
    assert renders(out, tmp_path)
