"""Drive the `redact` click group: exit 0 clean, 3 needs review, 1 error with no output."""

from __future__ import annotations

import json
from pathlib import Path

import pikepdf
from click.testing import CliRunner

from exchange.redaction.cli import redact
from tests.redaction import corpus
from tests.redaction.tools import pdftotext


def invoke(*args: str, stdin: str | None = None):
    """Run the group and return click's result."""
    return CliRunner().invoke(redact, list(args), input=stdin, catch_exceptions=False)


def test_pdf_clean_exits_zero_and_writes_report(tmp_path: Path) -> None:
    source, target, report = tmp_path / "in.pdf", tmp_path / "out.pdf", tmp_path / "r.json"
    corpus.kerned_pdf(source)
    result = invoke("pdf", str(source), str(target), "--name", "Ellery Quorn",
                    "--name", "Zoë Ward-Thomas", "--report", str(report))  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Quorn" not in pdftotext(target)
    data = json.loads(report.read_text())
    assert data["status"] == "clean"
    assert data["check"]["passed"] is True
    assert "quorn" not in report.read_text().lower()


def test_pdf_needing_review_exits_three(tmp_path: Path) -> None:
    source, target, report = tmp_path / "in.pdf", tmp_path / "out.pdf", tmp_path / "r.json"
    corpus.scan_pdf(source)
    result = invoke("pdf", str(source), str(target), "--name", "Ellery Quorn",
                    "--report", str(report))  # fmt: skip
    assert result.exit_code == 3
    assert target.exists()
    assert json.loads(report.read_text())["flags"][0]["page"] == 1


def test_encrypted_pdf_exits_one_without_output(tmp_path: Path) -> None:
    source, target = tmp_path / "in.pdf", tmp_path / "out.pdf"
    corpus.plain_pdf(source)
    with pikepdf.open(source, allow_overwriting_input=True) as pdf:
        pdf.save(source, encryption=pikepdf.Encryption(owner="o", user="u"))
    result = invoke("pdf", str(source), str(target), "--name", "Ellery Quorn")
    assert result.exit_code == 1
    assert "encrypted" in result.stderr
    assert not target.exists()
    assert list(tmp_path.iterdir()) == [source]


def test_malformed_and_missing_pdfs_exit_one(tmp_path: Path) -> None:
    source, target = tmp_path / "in.pdf", tmp_path / "out.pdf"
    source.write_bytes(b"%PDF-1.7\nthis is not a pdf\n")
    result = invoke("pdf", str(source), str(target), "--name", "Ellery Quorn")
    assert result.exit_code == 1
    assert "cannot be read" in result.stderr
    assert list(tmp_path.iterdir()) == [source]
    missing = invoke("pdf", str(tmp_path / "nope.pdf"), str(target), "--name", "A B")
    assert missing.exit_code == 1
    assert not target.exists()


def test_text_round_trip_and_exit_codes() -> None:
    clean = invoke("text", "--name", "Ellery Quorn", stdin="Ellery Quorn left.\n")
    assert clean.exit_code == 0
    assert clean.stdout == "[Child A] left.\n"
    review = invoke("text", "--name", "Will Ostrander", stdin="Will left.\n")
    assert review.exit_code == 3
    assert review.stdout == "Will left.\n"
    kept = invoke("text", "--name", "Tobin Pike", "--keep", "Rowan Pike", stdin="Rowan Pike ok")
    assert kept.stdout == "Rowan Pike ok"
