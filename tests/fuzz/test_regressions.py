"""Crashes the fuzzers found: each input must give a clean typed error.

Each unfixed one is xfail(strict=True) and listed in fuzz_kit.KNOWN_CRASHES; the fix removes both.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from test_fuzz_import import NOW, snapshot
from test_fuzz_messages import _pack, _receipt_payload

from exchange.db import transaction
from exchange.instance import Instance
from exchange.receipts.evidence import InvalidEvidence, verify_pack
from exchange.records.import_errors import ImportRejected
from exchange.records.import_example import add_example_school
from exchange.records.importer import import_records


def test_evidence_pack_with_a_null_iat(tmp_path: Path) -> None:
    folder = _pack(tmp_path / "pack", _receipt_payload(), {"iat": None})
    with pytest.raises(InvalidEvidence):
        verify_pack(folder)


def test_evidence_pack_with_a_text_iat(tmp_path: Path) -> None:
    folder = _pack(tmp_path / "pack", _receipt_payload(), {"iat": "soon"})
    with pytest.raises(InvalidEvidence):
        verify_pack(folder)


def test_evidence_pack_with_a_non_utf8_receipt(tmp_path: Path) -> None:
    folder = _pack(tmp_path / "pack", _receipt_payload(), {})
    (folder / "receipt.jws").write_bytes(b"\xe5" + (folder / "receipt.jws").read_bytes())
    with pytest.raises(InvalidEvidence):
        verify_pack(folder)


def test_evidence_pack_with_a_key_of_an_unknown_type(tmp_path: Path) -> None:
    # Found by atheris (fuzz/targets.py, "evidence"): receiver-signing.pem's algorithm OID
    # changed from 1.3.101.112 (Ed25519) to 1.3.85.112 raised cryptography's
    # UnsupportedAlgorithm. The input holds the pack's four files, split as the target does.
    data = (Path(__file__).parent / "crashers" / "evidence").joinpath(
        "unknown-key-oid-unsupportedalgorithm.pack"
    )
    names = ("receipt.jws", "countersignature.jws", "receiver-signing.pem", "sender-signing.pem")
    folder = tmp_path / "pack"
    folder.mkdir()
    for name, part in zip(names, data.read_bytes().split(b"\n\x00--8<--\x00\n", 3), strict=True):
        (folder / name).write_bytes(part)
    with pytest.raises(InvalidEvidence, match="not an Ed25519 key"):
        verify_pack(folder)


CRASHERS = Path(__file__).parent / "crashers" / "import-zip"


@pytest.fixture
def example_school(instance: Instance) -> int:
    """Return the example school, with its categories."""
    with transaction(instance.sessions) as session:
        return add_example_school(session).id


@pytest.mark.parametrize("name", sorted(p.name for p in CRASHERS.glob("*.zip")))
def test_damaged_zip_export_is_refused(instance: Instance, example_school: int, name: str) -> None:
    before = snapshot(instance)
    with pytest.raises(ImportRejected):
        import_records(instance, example_school, CRASHERS / name, now=NOW)
    assert snapshot(instance) == before


PDF_CRASHERS = Path(__file__).parent / "crashers" / "pdf-redactor"


@pytest.mark.parametrize("name", sorted(p.name for p in PDF_CRASHERS.glob("*.pdf")))
def test_damaged_pdf_is_refused(tmp_path: Path, name: str) -> None:
    from exchange.errors import ExchangeError
    from exchange.redaction.pipeline import process_pdf
    from tests.redaction import corpus

    (tmp_path / "out").mkdir()
    with pytest.raises(ExchangeError):
        process_pdf(
            PDF_CRASHERS / name,
            tmp_path / "out" / "r.pdf",
            corpus.PEOPLE,
            subject_id=corpus.SUBJECT.person_id,
        )
    assert list((tmp_path / "out").iterdir()) == []


def test_pdf_with_a_damaged_content_stream_is_not_published_broken(tmp_path: Path) -> None:
    import shutil
    import subprocess

    from exchange.errors import ExchangeError
    from exchange.redaction.pipeline import process_pdf
    from tests.redaction import corpus

    qpdf = shutil.which("qpdf")
    if qpdf is None:
        pytest.skip("qpdf is not installed")
    source = Path(__file__).parent / "crashers" / "pdf-qpdf-check" / "damaged-content-stream.pdf"
    output = tmp_path / "r.pdf"
    try:
        process_pdf(source, output, corpus.PEOPLE, subject_id=corpus.SUBJECT.person_id)
    except ExchangeError:
        return
    checked = subprocess.run([qpdf, "--check", str(output)], capture_output=True, check=False)
    assert checked.returncode in (0, 3), checked.stdout.decode()[-400:]


def test_ctf_with_an_unknown_encoding_is_refused() -> None:
    from datetime import date

    from exchange.records.ctf import parse_ctf

    with pytest.raises(ImportRejected):
        parse_ctf(b'<?xml version="1.0" encoding="UTF-9"?>\n<CTfile/>\n', date(2025, 7, 1))


def test_a_card_nested_deep_is_refused_not_a_recursion_error() -> None:
    # Found reading every JSON parsed from outside: `partners add` and the admin page called
    # json.loads, so a card file nested 30,000 deep ended in a RecursionError traceback.
    from exchange.errors import ValidationError
    from exchange.partners.card import SchoolCard

    with pytest.raises(ValidationError, match="nests more than"):
        SchoolCard.from_bytes(b"[" * 30_000 + b"]" * 30_000)
    with pytest.raises(ValidationError, match="not JSON"):
        SchoolCard.from_bytes(b"\xff{}")


def test_pdf_text_operators_with_operands_of_the_wrong_type_are_read_as_poppler_reads_them(
    tmp_path: Path,
) -> None:
    # Found by the pdf-redact target (7 December): `null 14 TL` raised TypeError in our
    # content reader, so the PDF was refused as damaged though viewers show it. Poppler drops
    # extra operands before the last ones and ignores an operator of the wrong type; so do we,
    # and the names after such operators are still found and removed.
    import subprocess

    from exchange.redaction.pipeline import process_pdf
    from tests.redaction import corpus

    content = b"\n".join(
        [
            b"BT /F1 12 Tf null 14 TL 72 720 Td (Ellery) Tj T* (Quorn went home) Tj ET",
            b"BT /F1 12 Tf /X 14 TL 72 680 Td (First line) Tj (Ward-Thomas said hello) ' ET",
            b'BT /F1 null Tf 72 640 Td (Zo\\353 left) Tj null 2 1 (Ellery Quorn arrived) " ET',
            b"BT 9 /F1 12 Tf (x) Tz 72 600 Td 1 (Rowan Pike stayed) Tj null 0 Td ET",
        ]
    )
    source, output = tmp_path / "wrong-types.pdf", tmp_path / "out" / "r.pdf"
    output.parent.mkdir()
    corpus.content_pdf(source, content, {"F1": corpus.helvetica()})
    report = process_pdf(source, output, corpus.PEOPLE, subject_id=corpus.SUBJECT.person_id)
    assert report.removed
    text = subprocess.run(
        ["pdftotext", str(output), "-"], capture_output=True, text=True, check=True
    ).stdout
    for word in corpus.TARGET_WORDS:
        assert word not in text
    assert "went home" in text


def test_the_pdf_redact_finding_is_refused_cleanly(tmp_path: Path) -> None:
    # The fuzzer's input itself also holds a name in mangled operators that only the
    # independent check sees: refused (RedactionBlocked), nothing written.
    from exchange.errors import ExchangeError
    from exchange.redaction.pipeline import process_pdf
    from tests.redaction import corpus

    source = Path(__file__).parent / "crashers" / "pdf-redact" / "text-leading-null-TypeError.pdf"
    (tmp_path / "out").mkdir()
    with pytest.raises(ExchangeError, match="still finds a name"):
        process_pdf(
            source, tmp_path / "out" / "r.pdf", corpus.PEOPLE, subject_id=corpus.SUBJECT.person_id
        )
    assert list((tmp_path / "out").iterdir()) == []


PDF_REDACT_FINDINGS = Path(__file__).parent / "crashers" / "pdf-redact"


@pytest.mark.parametrize("name", sorted(p.name for p in PDF_REDACT_FINDINGS.glob("*.pdf")))
def test_the_redactor_reads_or_refuses_each_pdf_redact_finding_cleanly(
    tmp_path: Path, name: str
) -> None:
    # Each raised something other than ExchangeError inside redact_pdf (process_pdf turned it
    # into "damaged" then): a text operator with a wrong-type operand, contents that are not a
    # stream, an /Annots entry that is no dictionary, a broken page count, an operator or a
    # font's encoding name in bytes that are not UTF-8. Now each is read or refused, typed;
    # what is read has no other child's name left in it.
    import subprocess

    from exchange.errors import ExchangeError
    from exchange.redaction.matcher import Matcher
    from exchange.redaction.pdf import redact_pdf
    from exchange.redaction.pipeline import build_match_set, process_pdf
    from exchange.redaction.pseudonyms import PseudonymBook
    from tests.redaction import corpus

    matcher = Matcher(build_match_set(corpus.PEOPLE, corpus.SUBJECT.person_id, []))
    output = tmp_path / "out" / "r.pdf"
    output.parent.mkdir()
    refused = None
    try:
        redact_pdf(PDF_REDACT_FINDINGS / name, output, matcher, PseudonymBook())
    except ExchangeError as error:
        refused = error
    if refused is not None:
        assert str(refused)
        assert list(output.parent.iterdir()) == []
        return
    # Read: the whole pipeline (with its flags and the independent check) either refuses it
    # or publishes a copy with no other child's name as poppler reads it.
    published = tmp_path / "published" / "r.pdf"
    published.parent.mkdir()
    try:
        subject = corpus.SUBJECT.person_id
        process_pdf(PDF_REDACT_FINDINGS / name, published, corpus.PEOPLE, subject_id=subject)
    except ExchangeError:
        assert list(published.parent.iterdir()) == []
        return
    shown = subprocess.run(
        ["pdftotext", str(published), "-"], capture_output=True, text=True, check=False
    ).stdout
    for word in corpus.TARGET_WORDS:
        assert word not in shown
