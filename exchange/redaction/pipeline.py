"""Redact, check independently and only then publish: the entry points the service calls."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

from exchange.errors import ExchangeError, ValidationError
from exchange.redaction.checker import check_pdf, check_text, needles_for
from exchange.redaction.matcher import Matcher
from exchange.redaction.names import Person, build_match_set
from exchange.redaction.pdf import redact_pdf
from exchange.redaction.pseudonyms import PseudonymBook
from exchange.redaction.report import Report
from exchange.redaction.text import TextRedaction, redact_text


class RedactionBlocked(ExchangeError):
    """The independent check found a name in the redacted output."""

    code = "redaction_blocked"
    status_code = 422

    def __init__(self, message: str, report: Report) -> None:
        super().__init__(message)
        self.report = report


def process_pdf(
    source: str | os.PathLike[str],
    destination: str | os.PathLike[str],
    people: Iterable[Person],
    *,
    subject_id: str | None = None,
    family_ids: Iterable[str] = (),
    book: PseudonymBook | None = None,
    document: str = "document",
) -> Report:
    """Redact a PDF, check the result with other tools, and publish it only if it passes."""
    people = list(people)
    family_ids = list(family_ids)
    matcher = Matcher(build_match_set(people, subject_id, family_ids))
    destination = Path(destination)
    if not destination.parent.is_dir():
        raise ValidationError("the output folder does not exist", where=str(destination.parent))
    handle, temporary = tempfile.mkstemp(prefix=".redacted-", suffix=".pdf", dir=destination.parent)
    os.close(handle)
    try:
        try:
            report = redact_pdf(
                source, temporary, matcher, book or PseudonymBook(), document=document
            )
            report.check = check_pdf(temporary, needles_for(people, subject_id, family_ids))
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
