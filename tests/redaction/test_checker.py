"""The independent check blocks on any name left, and says when it had to fall back."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from exchange.redaction import checker
from exchange.redaction.checker import check_pdf, needles_for
from exchange.redaction.pipeline import RedactionBlocked, process_pdf
from exchange.redaction.report import Report
from tests.redaction import corpus


def test_unredacted_input_is_caught_by_every_tool(tmp_path: Path) -> None:
    source = tmp_path / "in.pdf"
    corpus.reportlab_pdf(source)
    result = check_pdf(source, needles_for(corpus.PEOPLE, "s1", ["s2"]))
    assert not result.passed
    sources = {hit.source for hit in result.hits}
    assert {"pdftotext", "pypdfium2", "qpdf_qdf", "pdf_objects"} <= sources
    assert {hit.person_id for hit in result.hits} == {"c1", "c2"}


def test_missing_tools_fall_back_and_say_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "in.pdf"
    corpus.kerned_pdf(source)
    real_which = shutil.which
    monkeypatch.setattr(
        checker.shutil,
        "which",
        lambda name: None if name in ("pdftotext", "qpdf") else real_which(name),
    )
    result = check_pdf(source, needles_for(corpus.PEOPLE))
    assert len(result.fallbacks) == 2
    assert not result.passed
    assert {"pypdfium2", "pikepdf_qdf"} <= {hit.source for hit in result.hits}


def test_subject_family_and_ordinary_words_are_not_needles() -> None:
    people = [*corpus.PEOPLE, corpus.STAFF]
    words = {n.words for n in needles_for(people, "s1", ["s2"])}
    assert ("pike",) not in words
    assert ("rowan",) not in words
    assert ("quorn",) not in words  # Shared with a member of staff: only full names.
    assert ("ellery", "quorn") in words


def test_a_leak_blocks_and_leaves_no_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source, target = tmp_path / "in.pdf", tmp_path / "out.pdf"
    corpus.kerned_pdf(source)

    # Simulate a redactor fault: it copies the input unchanged.
    def copy_unchanged(src: Path, dst: Path, *_args: object, **_kwargs: object) -> Report:
        shutil.copyfile(src, dst)
        return Report("copy")

    monkeypatch.setattr("exchange.redaction.pipeline.redact_pdf", copy_unchanged)
    with pytest.raises(RedactionBlocked) as caught:
        process_pdf(source, target, corpus.PEOPLE)
    assert caught.value.report.status == "blocked"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.pdf"]
