"""Drive the `redact` click group: exit 0 clean, 3 needs review, 1 error with no output."""

from __future__ import annotations

import json
import subprocess
import sys
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


def test_nickname_keep_and_names_file(tmp_path: Path) -> None:
    names = tmp_path / "names.csv"
    names.write_text(
        "name,role,known as\nOliver Smith,remove,Bear;Ozzy\nDaniel Smith,staff\n# a comment\n"
        "Chloë-Anne Baker\n",
        encoding="utf-8",
    )
    text = "Bear, Ozzy and Ollie met Daniel Smith; Chloë-Anne Baker and Tommy; Anne Smith left."
    options = ["--name", "Thomas Jeffries", "--nickname", "Thomas Jeffries=Tommy"]
    result = invoke(
        "text", "--names-file", str(names), *options, "--keep", "Anne Smith", stdin=text
    )
    assert result.exit_code == 0, result.stderr
    assert result.stdout == (
        "[Child A], [Child A] and [Child A] met Daniel Smith; [Child B] and [Child C];"
        " Anne Smith left."
    )


def test_bad_nickname_and_names_file_exit_one(tmp_path: Path) -> None:
    unknown = invoke("text", "--name", "Oliver Smith", "--nickname", "Ann Other=Al", stdin="x")
    assert unknown.exit_code == 1
    assert "--nickname" in unknown.stderr
    bad = tmp_path / "names.csv"
    bad.write_text("Oliver Smith,boss\n", encoding="utf-8")
    assert invoke("text", "--names-file", str(bad), stdin="x").exit_code == 1
    assert invoke("text", stdin="x").exit_code == 1  # Nothing to remove is an error.


def test_review_exit_lists_the_reasons() -> None:
    review = invoke("text", "--name", "Will Ostrander", stdin="Will left.\n")
    assert review.exit_code == 3
    assert "ordinary_word" in review.stderr
    assert "will" not in review.stderr.lower().replace("will ostrander", "")


def test_truncated_pdf_exits_one_and_removes_a_stale_output(tmp_path: Path) -> None:
    whole, target = tmp_path / "whole.pdf", tmp_path / "out.pdf"
    corpus.kerned_pdf(whole)
    assert invoke("pdf", str(whole), str(target), "--name", "Ellery Quorn").exit_code == 0
    assert target.exists()  # An earlier run's output, now stale.
    size = len(whole.read_bytes())
    for cut in (size - 40, size // 2, 600):
        truncated = tmp_path / f"cut-{cut}.pdf"
        truncated.write_bytes(whole.read_bytes()[:cut])
        result = invoke("pdf", str(truncated), str(target), "--name", "Ellery Quorn")
        assert result.exit_code == 1, cut
        assert "cannot be read" in result.stderr
        assert not target.exists()
        target.write_bytes(b"stale")


def test_damaged_pdf_that_qpdf_rejects_exits_one(tmp_path: Path) -> None:
    source, target = tmp_path / "in.pdf", tmp_path / "out.pdf"
    corpus.kerned_pdf(source)
    data = source.read_bytes()
    start = data.index(b"stream\n") + 7
    source.write_bytes(data[:start] + b"\x00garbage" * 8 + data[start + 64 :])
    result = invoke("pdf", str(source), str(target), "--name", "Ellery Quorn")
    assert result.exit_code == 1
    assert not target.exists()


def test_redact_help_imports_no_pdf_library() -> None:
    script = (
        "import sys\nfrom exchange.cli import main\ntry:\n    main(['redact', '--help'])\n"
        "except SystemExit:\n    pass\nprint(sorted(m for m in sys.modules if m.split('.')[0] in"
        " ('pikepdf', 'pypdfium2', 'fontTools', 'nicknames', 'reportlab', 'PIL')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip().splitlines()[-1] == "[]"
