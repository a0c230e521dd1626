"""Word, OpenDocument, RTF, email and text documents are converted, then redacted as PDFs."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

import pytest

from exchange.errors import ValidationError
from exchange.redaction import convert
from exchange.redaction.names import Person
from exchange.redaction.pipeline import process_document
from tests.redaction.producers import docx_file, libreoffice_convert, ocr_pdf
from tests.redaction.tools import assert_gone, pdftotext, plain

PEOPLE = [
    Person("s1", "Rowan", "Pike"),
    Person("c1", "Griffin", "Talbot"),
    Person("c2", "Ellery", "Quorn"),
]
NAMES = ["Griffin", "Talbot", "Ellery", "Quorn"]
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def assert_clean_pdf(output: Path, tmp: Path) -> str:
    """Assert with poppler, qpdf and tesseract that the output is a PDF with no name left."""
    assert output.read_bytes().startswith(b"%PDF-")
    assert_gone(output, tmp, NAMES)
    seen = ocr_pdf(output, tmp)
    assert not any(plain(name) in seen for name in NAMES)
    return plain(pdftotext(output))


@pytest.mark.slow
def test_a_word_document_with_a_table_is_converted_and_redacted(tmp_path):
    source = docx_file(
        tmp_path / "minutes.docx",
        ["Core group minutes", "Griffin Talbot hit Rowan Pike at break."],
        table=[["Pupil", "Note"], ["Ellery Quorn", "witness"]],
    )
    output = tmp_path / "out.pdf"
    report = process_document(source, output, PEOPLE, media_type=DOCX, subject_id="s1")
    assert report.kind == "office"
    assert report.status == "clean"
    text = assert_clean_pdf(output, tmp_path)
    assert "rowan pike" in text
    assert "witness" in text


@pytest.mark.slow
def test_odt_and_rtf_are_converted_too(tmp_path):
    source = docx_file(tmp_path / "letter.docx", ["Dear parent, Ellery Quorn was upset today."])
    odt = libreoffice_convert(source, tmp_path, "odt")
    rtf = tmp_path / "note.rtf"
    rtf.write_text(r"{\rtf1\ansi{\fonttbl\f0 Times;}\f0 Griffin Talbot was late.\par}", "ascii")
    for document, media_type in ((odt, "application/vnd.oasis.opendocument.text"), (rtf, "")):
        output = tmp_path / f"{document.stem}.out.pdf"
        report = process_document(document, output, PEOPLE, media_type=media_type)
        assert report.status == "clean"
        assert_clean_pdf(output, tmp_path)


@pytest.mark.slow
def test_an_email_is_laid_out_with_its_attachments_listed(tmp_path):
    message = EmailMessage()
    message["From"] = "Office <office@school.invalid>"
    message["To"] = "dsl@school.invalid"
    message["Subject"] = "Concern about Griffin Talbot"
    message.set_content("Plain text")
    message.add_alternative(
        "<html><body><p>Ellery Quorn told Rowan Pike about it.</p>"
        "<script>ignored()</script></body></html>",
        subtype="html",
    )
    message.add_attachment(b"%PDF-1.4", maintype="application", subtype="pdf", filename="plan.pdf")
    source = tmp_path / "mail.eml"
    source.write_bytes(bytes(message))
    output = tmp_path / "out.pdf"
    report = process_document(source, output, PEOPLE, subject_id="s1")
    assert report.kind == "email"
    text = assert_clean_pdf(output, tmp_path)
    assert "subject: concern about" in text
    assert "plan.pdf" in text


def test_plain_text_is_laid_out_and_redacted(tmp_path):
    source = tmp_path / "note.txt"
    source.write_text("Phone call: Griffin Talbot's mother rang about Rowan Pike.\n", "utf-8")
    output = tmp_path / "out.pdf"
    report = process_document(source, output, PEOPLE, media_type="text/plain", subject_id="s1")
    assert report.kind == "text"
    assert_gone(output, tmp_path, NAMES)
    assert "rowan pike" in plain(pdftotext(output))


def test_a_damaged_word_document_is_a_clear_error_and_leaves_nothing(tmp_path):
    source = tmp_path / "broken.docx"
    source.write_bytes(b"PK\x03\x04" + b"\x00" * 200)
    output = tmp_path / "out.pdf"
    with pytest.raises(ValidationError, match="LibreOffice"):
        process_document(source, output, PEOPLE, media_type=DOCX)
    assert list(tmp_path.iterdir()) == [source]


def test_a_conversion_that_runs_too_long_is_stopped(tmp_path):
    source = docx_file(tmp_path / "slow.docx", ["Some text."])
    work = tmp_path / "work"
    work.mkdir()
    with pytest.raises(ValidationError, match="took more than"):
        convert.office_to_pdf(source, work, media_type=DOCX, timeout=0.05)


def test_an_unknown_kind_of_file_is_refused():
    with pytest.raises(ValidationError, match="cannot be redacted"):
        process_document(
            Path(__file__).with_name("__init__.py"),
            "/tmp/x.pdf",
            PEOPLE,
            media_type="application/zip",
        )
