"""Redact, check independently and only then publish: the entry points the service calls."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

from exchange.errors import ExchangeError, ValidationError
from exchange.redaction.checker import Needle, check_pdf, check_text, needles_for
from exchange.redaction.matcher import Matcher
from exchange.redaction.names import Person, build_match_set
from exchange.redaction.pdf import redact_pdf
from exchange.redaction.pseudonyms import PseudonymBook
from exchange.redaction.report import CheckHit, Report
from exchange.redaction.text import TextRedaction, redact_text


class RedactionBlocked(ExchangeError):
    """The independent check found a name in the redacted output."""

    code = "redaction_blocked"
    status_code = 422

    def __init__(self, message: str, report: Report) -> None:
        super().__init__(message)
        self.report = report


def process_document(
    source: str | os.PathLike[str],
    destination: str | os.PathLike[str],
    people: Iterable[Person],
    *,
    media_type: str = "",
    name: str = "",
    subject_id: str | None = None,
    family_ids: Iterable[str] = (),
    book: PseudonymBook | None = None,
    document: str = "document",
) -> Report:
    """Redact any vault document into a checked PDF: convert or read it first if need be."""
    from exchange.redaction import convert, formats, scans

    source = Path(source)
    kind = formats.kind_of(source, media_type, name)
    people = list(people)
    family_ids = list(family_ids)
    book = book or PseudonymBook()
    options = {"subject_id": subject_id, "family_ids": family_ids, "book": book}
    if kind == "pdf":
        return process_pdf(source, destination, people, document=document, **options)
    with tempfile.TemporaryDirectory(prefix="sgx-convert-") as folder:
        work = Path(folder)
        if kind == "image":
            scanned = Report(document=document, kind="image")
            matcher = Matcher(build_match_set(people, subject_id, family_ids))
            needles = needles_for(people, subject_id, family_ids)
            pdf = work / "scan.pdf"
            hits = scans.scan_to_pdf(source, pdf, matcher, needles, book, scanned, work)
            report = process_pdf(
                pdf, destination, people, document=document, scanned=(scanned, hits), **options
            )
        else:
            if kind == "office":
                pdf = convert.office_to_pdf(source, work, media_type=media_type, name=name)
            elif kind == "email":
                pdf = convert.email_to_pdf(source, work)
            else:
                pdf = convert.text_to_pdf(source, work)
            report = process_pdf(pdf, destination, people, document=document, **options)
    report.kind = kind
    return report


def process_pdf(
    source: str | os.PathLike[str],
    destination: str | os.PathLike[str],
    people: Iterable[Person],
    *,
    subject_id: str | None = None,
    family_ids: Iterable[str] = (),
    book: PseudonymBook | None = None,
    document: str = "document",
    scanned: tuple[Report, list[CheckHit]] | None = None,
) -> Report:
    """Redact a PDF, check the result with other tools and by eye (OCR), publish if it passes.

    `scanned` carries what the scan step did to a PDF it built from pictures: its pixels were
    burned and read again, so they are not read a third time.
    """
    people = list(people)
    family_ids = list(family_ids)
    matcher = Matcher(build_match_set(people, subject_id, family_ids))
    needles = needles_for(people, subject_id, family_ids)
    book = book or PseudonymBook()
    destination = Path(destination)
    if not destination.parent.is_dir():
        raise ValidationError("the output folder does not exist", where=str(destination.parent))
    handle, temporary = tempfile.mkstemp(prefix=".redacted-", suffix=".pdf", dir=destination.parent)
    os.close(handle)
    try:
        try:
            report = redact_pdf(source, temporary, matcher, book, document=document)
            _pictures_and_pages(Path(temporary), matcher, needles, book, report, scanned)
        except ExchangeError:
            raise
        except Exception as exc:  # A damaged PDF reaches library code that raises anything.
            raise ValidationError(
                f"the PDF is damaged and cannot be redacted safely ({type(exc).__name__})",
                where=document,
            ) from exc
        if not report.check.passed:
            raise RedactionBlocked("the independent check still finds a name", report)
        _check_structure(temporary, document)
        os.replace(temporary, destination)
    finally:
        Path(temporary).unlink(missing_ok=True)
    return report


def _pictures_and_pages(
    path: Path,
    matcher: Matcher,
    needles: list[Needle],
    book: PseudonymBook,
    report: Report,
    scanned: tuple[Report, list[CheckHit]] | None,
) -> None:
    """Burn names out of the pictures, check the text layer, then what each page shows."""
    from exchange.redaction import ocr, scans, visual

    hits: list[CheckHit] = []
    if scanned is not None:
        pictures, hits = scanned
        report.removed[:0] = pictures.removed
        report.flags = [f for f in report.flags if f.reason not in scans.READ_FLAGS]
        report.flags[:0] = pictures.flags
    elif ocr.available():
        with tempfile.TemporaryDirectory(prefix="sgx-images-") as folder:
            hits = scans.redact_pdf_images(path, matcher, needles, book, report, Path(folder))
    report.check = check_pdf(path, needles)
    report.check.hits.extend(hits)
    if scanned is not None:
        report.check.tools.append("tesseract_after_burning")
        return
    if not ocr.available():
        report.flag(None, "visual_check_not_run", "tesseract is not installed: check every page")
        return
    seen = visual.check_pdf_visually(path, needles)
    report.check.tools.append("tesseract_rendered_pages")
    for hit in seen.hits:
        report.check.hits.append(CheckHit("ocr_rendered_page", hit.person_id, hit.page, hit.box))


def _check_structure(path: str | os.PathLike[str], document: str) -> None:
    """Refuse to publish a PDF that qpdf finds damaged (a broken file is not a clean one)."""
    qpdf = shutil.which("qpdf")
    if qpdf is None:
        return  # The checker has already opened the file with pikepdf and pdfium.
    checked = subprocess.run(
        [qpdf, "--check", os.fspath(path)], capture_output=True, timeout=120, check=False
    )
    if checked.returncode not in (0, 3):  # 3 means warnings only.
        raise ValidationError(
            "the PDF is damaged (qpdf --check fails): replace it with a sound copy",
            where=document,
        )


def process_text(
    text: str,
    people: Iterable[Person],
    *,
    subject_id: str | None = None,
    family_ids: Iterable[str] = (),
    book: PseudonymBook | None = None,
    decisions: Mapping[str, str] | None = None,
    document: str = "text",
) -> tuple[TextRedaction, Report]:
    """Redact text, check it independently, and return it with its report."""
    people = list(people)
    family_ids = list(family_ids)
    match_set = build_match_set(people, subject_id, family_ids)
    result = redact_text(text, match_set, book or PseudonymBook(), decisions)
    report = Report(document=document, kind="text")
    report.decisions = [hit.to_dict() for hit in result.hits]
    report.check = check_text(result.text, needles_for(people, subject_id, family_ids))
    if not report.check.passed:
        raise RedactionBlocked("the independent check still finds a name", report)
    return result, report
